"""Safetensors checkpoints (model + optimizer + epoch, JSON metadata), written atomically.

Nothing we load can execute code: weights are safetensors, metadata is JSON. A crash mid-write
leaves the previous file intact (``lesson7.files``: write to a temporary file in the same
folder, then rename). The atomic writers are re-exported here for existing imports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lesson7.files import atomic_path, atomic_write_json, atomic_write_text

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_json", "save_checkpoint",
           "read_metadata", "load_checkpoint", "check_state_dict"]


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
    meta = {"format": "lesson7-checkpoint-v1", "torch_version": torch.__version__, **meta,
            "optimizer": opt_meta}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "lesson7-checkpoint-v1"})
    atomic_write_json(path.with_suffix(".json"), meta)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata saved beside a checkpoint ({} if there is none)."""
    meta_path = Path(path).with_suffix(".json")
    return json.loads(meta_path.read_text()) if meta_path.exists() else {}


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    opt: torch.optim.Optimizer | None = None, strict: bool = True) -> dict[str, Any]:
    """Load weights (and optimizer state) saved by `save_checkpoint`; returns the metadata.

    A checkpoint of another architecture raises a ValueError listing the mismatches instead of
    a stack of shape errors.
    """
    path = Path(path).with_suffix(".safetensors")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    tensors = load_file(str(path))
    sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    check_state_dict(model, sd, source=str(path), strict=strict)
    model.load_state_dict(sd, strict=strict)
    meta = read_metadata(path)
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
