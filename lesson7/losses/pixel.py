"""Pixel losses for image targets: MSE (the lesson's generator pre-training) and L1.

"Flat" as in fastai v1 `MSELossFlat`: prediction and target are flattened first, so any two
tensors with the same number of elements per batch compare. Ref: fastai v1 `fastai/layers.py`.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MSELossFlat", "L1LossFlat"]


def _flat(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if pred.numel() != target.numel():
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} "
                         f"have different sizes")
    return pred.reshape(-1).float(), target.reshape(-1).float()


class MSELossFlat(nn.Module):
    """Mean squared error over all elements (fp32 even under mixed precision)."""

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(*_flat(pred, target))


class L1LossFlat(nn.Module):
    """Mean absolute error over all elements (fp32 even under mixed precision)."""

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(*_flat(pred, target))
