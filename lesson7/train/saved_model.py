"""A trained model saved with the settings that rebuild it, and loaded back from a path alone.

The weights are a safetensors checkpoint (`lesson7.train.checkpoint`); the metadata is the
task name plus every field of the model's config dataclass. Loading rebuilds the model from
that config (no pretrained download: the weights come from the checkpoint) and then loads the
weights, so nothing we load runs code, and a file of another task, a JSON that builds nothing
or weights of other settings each fail with one error naming the file. `SavedModelKind`
holds what differs between the restorer (`lesson7.restore.restorer`) and the colorizer
(`lesson7.colorize.colorizer`): task, config class, builder and the words of the errors;
`TrainedModel` is what both are: a model, its config and its device, saved and loaded by kind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import torch
from torch import nn

from lesson7.train.checkpoint import load_checkpoint, not_safetensors, read_metadata, save_checkpoint

__all__ = ["SavedModelKind", "TrainedModel", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "model"
"""A run folder's model: RUN/model.safetensors + RUN/model.json."""


@dataclass(frozen=True)
class SavedModelKind:
    """One kind of saved model: how its metadata is checked and its model rebuilt."""

    task: str
    """The metadata's "task"; a checkpoint of another task is refused."""
    config_cls: Any
    """The config dataclass; `config_cls.from_meta(meta)` reads it back from the metadata."""
    build: Callable[[Any], nn.Module]
    """config -> the untrained model the weights are loaded into."""
    name: str
    """What the errors call a file of this kind: "no {name} at X", "X is not a {name}"."""
    noun: str
    """What the JSON rebuilds, in the errors: "it says how to rebuild the {noun}"."""
    train_command: str
    """The command that writes a run folder of this kind, named in the errors."""
    required: tuple[str, ...] = ()
    """Metadata keys besides "task" without which the file is not of this kind."""
    describe: Callable[[Any], str] | None = None
    """config -> its settings in words; when given, weights that do not fit the model are
    reported with those settings (else with `load_checkpoint`'s own error)."""

    def save(self, path: str | os.PathLike, model: nn.Module, cfg: Any, **meta: Any) -> Path:
        """Weights + metadata (task, every config field, `meta`)."""
        return save_checkpoint(path, model, task=self.task, **asdict(cfg), **meta)

    def resolve(self, path: str | os.PathLike) -> Path:
        """A run folder (-> its model.safetensors), X.safetensors, or X / X.json beside it,
        checked to exist."""
        p = Path(path)
        if p.is_dir():
            p = p / f"{CHECKPOINT_NAME}.safetensors"
        elif p.suffix != ".safetensors":
            # a pickled .pth (or any other existing file) is refused as such, not mistaken for
            # a missing checkpoint: we never unpickle a model file
            if p.is_file() and p.suffix != ".json" and not p.with_suffix(".safetensors").is_file():
                raise ValueError(f"{not_safetensors(p)}; pass a run folder of `{self.train_command}"
                                 "` or its model.safetensors")
            p = p.with_suffix(".safetensors")
        if not p.is_file():
            raise ValueError(f"no {self.name} at {path} (looked for {p})")
        return p

    def load(self, path: str | os.PathLike) -> tuple[nn.Module, Any]:
        """(model with its weights, config) from a path `resolve` accepts."""
        ckpt = self.resolve(path)
        meta_file = ckpt.with_suffix(".json")
        if not meta_file.is_file():
            raise ValueError(f"{meta_file} is missing: it says how to rebuild the {self.noun} in "
                             f"{ckpt.name} (copy it along with the weights)")
        meta = read_metadata(ckpt)  # invalid JSON -> a ValueError naming the file
        if meta.get("task") != self.task or any(k not in meta for k in self.required):
            raise ValueError(f"{ckpt} is not a {self.name} ({meta_file} says task="
                             f"{meta.get('task')!r}); pass a run folder of `{self.train_command}`")
        try:
            cfg = self.config_cls.from_meta(meta)
            model = self.build(cfg)
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"{meta_file} does not describe a {self.noun} that can be built "
                             f"({type(e).__name__}: {e})") from None
        try:
            load_checkpoint(ckpt, model)  # mismatched architecture -> one readable ValueError
        except ValueError as e:
            if self.describe is None:
                raise
            detail = " ".join(line.strip() for line in str(e).splitlines()[1:])
            raise ValueError(f"{ckpt} holds weights that do not fit the {self.noun} its "
                             f"{meta_file.name} describes ({self.describe(cfg)}): {detail}") from None
        return model, cfg


class TrainedModel:
    """A trained model in eval mode on `device`, with the config that rebuilds it; saved and
    loaded as the subclass's `kind` says."""

    kind: ClassVar[SavedModelKind]

    def __init__(self, model: nn.Module, cfg: Any, device: str | torch.device = "cpu") -> None:
        self.model = model.to(device).eval()
        self.cfg = cfg
        self.device = torch.device(device)

    def save(self, path: str | os.PathLike, **meta: Any) -> Path:
        """Weights + metadata (task, every config field, `meta`)."""
        return self.kind.save(path, self.model, self.cfg, **meta)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> Self:
        """Rebuild from a run folder or checkpoint saved by `save` (or the kind's train command)."""
        model, cfg = cls.kind.load(path)
        return cls(model, cfg, device)
