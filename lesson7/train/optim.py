"""Layer groups, discriminative learning rates, freezing, and the AdamW the Learner uses.

fastai v1 semantics (`fastai/basic_train.py`, `Learner.lr_range`): `slice(b)` gives
`[b/10, ..., b/10, b]`, `slice(a, b)` is geometric over the groups; Adam betas (0.9, 0.99)
with decoupled weight decay (`p <- p * (1 - lr * wd)`, Loshchilov & Hutter 2019,
arXiv:1711.05101); `bn_wd=False` exempts BatchNorm and bias parameters from decay. Frozen
groups keep their BatchNorm trainable (`train_bn=True`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

LayerGroups = list[list[nn.Parameter]]
Splitter = Callable[[nn.Module], LayerGroups]
LR = float | slice | Sequence[float]
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
            nn.InstanceNorm2d)


def default_splitter(model: nn.Module) -> LayerGroups:
    """One layer group holding every parameter."""
    return [list(model.parameters())]


def lr_per_group(lr: LR, n_groups: int) -> list[float]:
    """Expand an LR spec to one value per layer group (fastai's `lr_range`)."""
    if isinstance(lr, slice):
        if lr.start is None:
            return [lr.stop / 10] * (n_groups - 1) + [lr.stop]
        if n_groups == 1:
            return [lr.stop]
        return list(np.geomspace(lr.start, lr.stop, n_groups).tolist())
    if isinstance(lr, (int, float)):
        if lr <= 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        return [float(lr)] * n_groups
    lrs = [float(x) for x in lr]
    if len(lrs) != n_groups:
        raise ValueError(f"got {len(lrs)} learning rates for {n_groups} layer groups")
    return lrs


def norm_and_bias_params(model: nn.Module) -> set[int]:
    """ids of parameters that belong to normalisation layers or are biases."""
    ids = {id(p) for m in model.modules() if isinstance(m, BN_TYPES) for p in m.parameters(recurse=False)}
    ids |= {id(p) for n, p in model.named_parameters() if n.endswith("bias")}
    return ids


def bn_params(model: nn.Module) -> set[int]:
    """ids of BatchNorm parameters (they stay trainable in frozen groups)."""
    return {id(p) for m in model.modules() if isinstance(m, BN_TYPES) for p in m.parameters(recurse=False)}


def make_param_groups(model: nn.Module, groups: LayerGroups, wd: float, bn_wd: bool) -> list[dict]:
    """One optimizer param group per layer group (two when `bn_wd=False`: decayed / not)."""
    no_decay = set() if bn_wd else norm_and_bias_params(model)
    out = []
    for i, params in enumerate(groups):
        decay = [p for p in params if id(p) not in no_decay]
        rest = [p for p in params if id(p) in no_decay]
        out.append({"params": decay, "weight_decay": wd, "layer_group": i})
        if rest:
            out.append({"params": rest, "weight_decay": 0.0, "layer_group": i})
    return out


def adamw(param_groups: list[dict], lr: float = 3e-3, betas: tuple[float, float] = (0.9, 0.99),
          eps: float = 1e-5, fused: bool | None = None) -> torch.optim.Optimizer:
    """torch's AdamW (decoupled decay) with fastai's betas and eps."""
    on_cuda = any(p.is_cuda for g in param_groups for p in g["params"])
    kw = {"fused": True} if (fused if fused is not None else on_cuda) else {"foreach": True}
    return torch.optim.AdamW(param_groups, lr=lr, betas=betas, eps=eps, **kw)


def set_hyper(opt: torch.optim.Optimizer, name: str, values: list[float]) -> None:
    """Write one value per layer group into every param group of that layer group."""
    for g in opt.param_groups:
        v = values[g.get("layer_group", 0)]
        if name == "mom":
            g["betas"] = (v, g["betas"][1])
        else:
            g[name] = v


def set_trainable(groups: LayerGroups, n_frozen: int, keep_trainable: set[int]) -> None:
    """Freeze the first `n_frozen` layer groups except parameters in `keep_trainable`."""
    for i, params in enumerate(groups):
        for p in params:
            p.requires_grad_(i >= n_frozen or id(p) in keep_trainable)
