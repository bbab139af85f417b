"""A run folder, read and written in one place: config, metrics, model, and the resume state.

    OUT/config.json      the config the run was started with (its dataclass, as JSON)
    OUT/metrics.json     what the run measured (NaN/inf written as null)
    OUT/<model>.safetensors + .json   the trained weights and what rebuilds the model
    OUT/state/           the resume point while the run is unfinished; deleted when it ends

One resume protocol for every long job (restore, critic, GAN, WGAN): after each epoch the job
writes its weights, optimizer state and progress under OUT/state/ together with the settings
that define the run; rerunning the same command continues from there, a run with other
settings in the same OUT is refused, and the finished run deletes the state. Paths are
absolute, so a relative --out is never joined onto itself.

A finished model is never replaced by one of other settings unless asked (`--overwrite`): the
settings are saved in the model's metadata ("run"), and `finished_run` compares them before
any work starts; the same settings again mean there is nothing to do. A job killed with
SIGKILL cannot remove its temporary files (`lesson7.files`: `.NAME.XXXXXXXX.part`);
`remove_partial_files` deletes them when the job is started again.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

from lesson7.files import atomic_write_json

__all__ = ["RunFolder", "config_dict", "run_info"]


def config_dict(cfg: Any) -> dict[str, Any]:
    """A config dataclass as plain JSON values (paths as strings, tuples as lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class RunFolder:
    """The folder of one run (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().absolute()

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # -- config and metrics --------------------------------------------------------------------
    def write_config(self, cfg: Any, **extra: Any) -> Path:
        """OUT/config.json: the config dataclass (plus `extra`), atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        return atomic_write_json(self.path / "config.json",
                                 {"config": type(cfg).__name__, **config_dict(cfg), **extra})

    def read_config(self) -> dict[str, Any]:
        """OUT/config.json as a dict; a ValueError naming the folder when it is missing."""
        path = self.path / "config.json"
        if not path.is_file():
            raise ValueError(f"{self.path} is not a run folder (no config.json)")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e})") from None

    def write_metrics(self, metrics: dict[str, Any]) -> Path:
        """OUT/metrics.json atomically (NaN and inf become null, so it stays valid JSON)."""
        return atomic_write_json(self.path / "metrics.json", _finite(metrics))

    def read_metrics(self) -> dict[str, Any] | None:
        path = self.path / "metrics.json"
        return json.loads(path.read_text()) if path.is_file() else None

    # -- the resume point ----------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.path / "state"

    @property
    def state(self) -> Path:
        """The resume checkpoint's stem: OUT/state/last(.safetensors, .json)."""
        return self.state_dir / "last"

    def resume_point(self, settings: dict[str, Any], meta_file: str | None = None,
                     overwrite: bool = False, config_cls: type | None = None
                     ) -> dict[str, Any] | None:
        """The saved state's metadata if an unfinished run with these `settings` is here; None if
        there is none; a ValueError naming what differs if the run here was started otherwise
        (with `overwrite`, that state is deleted instead and None returned).

        `meta_file`: the state file (in OUT/state/) that holds the progress and, under "run", the
        settings; default: the metadata inside `last.safetensors` (`SaveEveryEpoch`), which a
        kill between writing it and `last.json` cannot leave out of step with the weights.
        """
        if meta_file is None:
            from lesson7.train.checkpoint import checkpoint_metadata

            weights = self.state.with_suffix(".safetensors")
            meta = checkpoint_metadata(weights) if weights.is_file() else None
        else:
            meta_path = self.state_dir / meta_file
            meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
        if not meta:  # no state, or one saved without its metadata: nothing to resume from
            return None
        changed = _flags(_changed(meta.get("run"), settings), config_cls)
        if changed:
            if overwrite:
                self.clear_state()
                return None
            raise ValueError(f"--out {self.path} holds an unfinished run with other settings "
                             f"({', '.join(changed)}); use a new --out, or delete "
                             f"{self.state_dir} to start afresh")
        return meta

    def finished_run(self, settings: dict[str, Any], model: str = "model.safetensors",
                     overwrite: bool = False, config_cls: type | None = None
                     ) -> dict[str, Any] | None:
        """metrics.json of the finished run of these `settings` in OUT, if there is one (the
        caller has nothing to do); None when there is none, or with `overwrite`. A ValueError
        if OUT/`model` was trained with other settings (saved under "run" in its metadata) and
        not `overwrite`. Call it when `resume_point` found nothing to resume."""
        from lesson7.train.checkpoint import checkpoint_metadata

        weights = self.path / model
        if overwrite or not weights.is_file():
            return None
        try:
            saved = checkpoint_metadata(weights).get("run")
        except ValueError as e:  # unreadable: still never replaced without being asked
            raise ValueError(f"--out {self.path} holds a model that cannot be read ({e}); add "
                             "--overwrite to replace it, or use a new --out") from None
        changed = _flags(_changed(saved, settings), config_cls)
        if changed:
            why = (f"trained with other settings ({', '.join(changed)})" if saved is not None
                   else "whose settings are not recorded in it")
            raise ValueError(f"--out {self.path} already holds a finished model ({weights.name}) "
                             f"{why}; use a new --out, or add --overwrite to replace it")
        metrics = self.read_metrics()
        if metrics is not None:
            self.clear_state()  # leftovers of a kill while the finished run deleted it
        return metrics

    def resume_or_finished(self, settings: dict[str, Any], overwrite: bool = False,
                           config_cls: type | None = None
                           ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Where a resumable training job starts: (resume point, None) to continue the
        unfinished run of these `settings`; (None, metrics) when OUT holds their finished run
        (said on stdout: nothing to do); (None, None) to start afresh. Removes the partial
        files of a killed run first; other settings raise as in `resume_point`/`finished_run`."""
        self.remove_partial_files()  # left by a killed run
        resume = self.resume_point(settings, overwrite=overwrite, config_cls=config_cls)
        if resume is not None:
            return resume, None
        done = self.finished_run(settings, overwrite=overwrite, config_cls=config_cls)
        if done is not None:
            print(f"{self.path} already holds the finished run of these settings "
                  f"({self / 'model.safetensors'}); nothing to do (--overwrite trains it again)")
        return None, done

    def remove_partial_files(self) -> list[Path]:
        """Delete the temporary files that killed writers left in OUT (see the module doc)."""
        if not self.path.is_dir():
            return []
        stale = [p for p in self.path.rglob("*.part") if _PARTIAL.fullmatch(p.name)]
        for p in stale:
            p.unlink(missing_ok=True)
        return stale

    def clear_state(self) -> None:
        """The run is finished: its resume point is no longer needed."""
        shutil.rmtree(self.state_dir, ignore_errors=True)


_PARTIAL = re.compile(r"\..+\.[0-9a-f]{8}\.part")  # lesson7.files: .NAME.XXXXXXXX.part


def _changed(saved: dict[str, Any] | None, settings: dict[str, Any]) -> list[str]:
    """The settings that differ from those `saved` with a model or state (all, if none were)."""
    saved = saved or {}
    settings = json.loads(json.dumps(settings, default=str))
    return sorted(k for k in set(settings) | set(saved) if saved.get(k) != settings.get(k))


def _flags(names: list[str], config_cls: type | None) -> list[str]:
    """Setting names as the user typed them (`lrs` -> `--lr`), when the config is known."""
    if config_cls is None:
        return names
    from lesson7.configs.flags import flag_name

    fields = set(getattr(config_cls, "__dataclass_fields__", {}))
    return [flag_name(config_cls, n) if n in fields else n for n in names]


def run_info(device: Any) -> dict[str, Any]:
    """The device and versions a run used, recorded in every metrics.json."""
    import os
    import platform

    import torch

    from lesson7.train import distributed as ddp

    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or "cpu")
    return {"device": f"{device.type} ({name}, {torch.get_num_threads()} threads)",
            "torch_version": torch.__version__, "world_size": ddp.world_size(),
            "host_cpus": os.cpu_count()}
