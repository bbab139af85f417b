"""Safetensors checkpoints (model + optimizer + epoch, JSON metadata), written atomically.

Nothing we load can execute code: weights are safetensors, metadata is JSON. A crash mid-write
leaves the previous file intact (``lesson7.files``: write to a temporary file in the same
folder, then rename). The metadata is written twice: inside the .safetensors header, renamed
into place together with the tensors, and as the .json beside it for people and tools. A kill
between the two renames leaves new tensors beside old JSON, so whatever must match the tensors
(the optimizer's step counts, a resume point's epoch) is read from the header
(`checkpoint_metadata`); `read_metadata` reads the .json. A file that is not safetensors
(empty, truncated, a pickled .pth) is a ValueError naming it. The atomic writers are
re-exported here for existing imports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors
from torch import nn

from lesson7.files import _json_default, atomic_path, atomic_write_json, atomic_write_text

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_json", "save_checkpoint",
           "read_metadata", "checkpoint_metadata", "load_checkpoint", "load_safetensors",
           "check_state_dict", "not_safetensors"]

FORMAT = "lesson7-checkpoint-v1"
_META_KEY = "lesson7_meta"  # the JSON metadata inside the safetensors header


def _plain_tensors(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors that share storage (tied weights): store independent copies.
    return {prefix + k: v.detach().to("cpu").clone().contiguous() for k, v in sd.items()}


def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    opt: torch.optim.Optimizer | None = None, /, **meta: Any) -> Path:
    """Save `model` (and `opt`) to `path` (.safetensors) with `meta` in a .json beside it."""
    path = Path(path).with_suffix(".safetensors")
    tensors = _plain_tensors(model.state_dict(), "model.")
    opt_meta = None
    if opt is not None:
        osd = opt.state_dict()
        for idx, state in osd["state"].items():
            for name, value in state.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"opt.{idx}.{name}"] = value.detach().to("cpu").clone().contiguous()
        opt_meta = {"param_groups": osd["param_groups"],
                    "scalars": {str(i): {k: v for k, v in s.items() if not isinstance(v, torch.Tensor)}
                                for i, s in osd["state"].items()}}
    meta = {"format": FORMAT, "torch_version": torch.__version__, **meta, "optimizer": opt_meta}
    text = json.dumps(meta, indent=2, default=_json_default)
    # Serialised here and written through atomic_path: `save_file` would write a `.tmpXXXXXX`
    # of its own beside the target, which a SIGKILL leaves behind under a name no one cleans.
    data = save_tensors(tensors, metadata={"format": FORMAT, _META_KEY: text})
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    atomic_write_text(path.with_suffix(".json"), text + "\n")
    return path


def not_safetensors(path: str | os.PathLike) -> str:
    """Why `path` cannot be read as safetensors, in words (for one-line errors)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        return f"{path} is empty (an interrupted copy?)"
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return (f"{path} is a pickle (torch.save / .pth), not safetensors; lesson7 never unpickles "
                "checkpoints (loading one can run code)")
    return f"{path} is truncated or not a safetensors file"


def _header(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError) as e:
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}") from None
        raise ValueError(f"{not_safetensors(path)} ({e})") from None


def load_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file; a ValueError naming it if it is not one."""
    path = Path(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as e:
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}") from None
        raise ValueError(f"{not_safetensors(path)} ({e})") from None


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata saved beside a checkpoint ({} if there is none); a ValueError naming
    the .json when it is not a JSON object."""
    meta_path = Path(path).with_suffix(".json")
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{meta_path} is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path} is not a JSON object of checkpoint metadata")
    return meta


def checkpoint_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata written together with the tensors (the safetensors header); the .json
    beside it for checkpoints saved before the header carried it."""
    path = Path(path).with_suffix(".safetensors")
    text = _header(path).get(_META_KEY)
    return json.loads(text) if text is not None else read_metadata(path)


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    opt: torch.optim.Optimizer | None = None, strict: bool = True) -> dict[str, Any]:
    """Load weights (and optimizer state) saved by `save_checkpoint`; returns the metadata.

    A checkpoint of another architecture raises a ValueError listing the mismatches instead of
    a stack of shape errors.
    """
    path = Path(path).with_suffix(".safetensors")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    tensors = load_safetensors(path)
    sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    check_state_dict(model, sd, source=str(path), strict=strict)
    model.load_state_dict(sd, strict=strict)
    meta = checkpoint_metadata(path)  # the header: matches these tensors even after a torn write
    if opt is not None and meta.get("optimizer"):
        om = meta["optimizer"]
        state: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("opt."):
                _, idx, name = k.split(".", 2)
                state.setdefault(int(idx), {})[name] = v
        for idx, scalars in om["scalars"].items():
            state.setdefault(int(idx), {}).update(scalars)
        opt.load_state_dict({"state": state, "param_groups": om["param_groups"]})
    return meta


def check_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], source: str,
                     strict: bool = True) -> None:
    """Raise a readable ValueError if `sd` does not fit `model` (missing/unexpected/shape)."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd)) if strict else []
    unexpected = sorted(set(sd) - set(own)) if strict else []
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(sd)) if own[k].shape != sd[k].shape]
    if missing or unexpected or shapes:
        lines = [f"{source} does not match this model (saved from another architecture or settings?)"]
        if missing:
            lines.append(f"  missing {len(missing)} tensors, e.g. {missing[:3]}")
        if unexpected:
            lines.append(f"  unexpected {len(unexpected)} tensors, e.g. {unexpected[:3]}")
        if shapes:
            lines.append(f"  {len(shapes)} shape mismatches, e.g. {shapes[:3]}")
        raise ValueError("\n".join(lines))
