"""Classification metrics: `(pred, target) -> scalar tensor`, averaged by the Learner over the
validation set weighted by batch size. Kept on the device: no host sync per batch."""

from __future__ import annotations

from torch import Tensor


def accuracy(pred: Tensor, target: Tensor) -> Tensor:
    """Share of rows whose arg-max matches the target class."""
    return (pred.argmax(dim=-1) == target).float().mean()


def error_rate(pred: Tensor, target: Tensor) -> Tensor:
    """1 - accuracy."""
    return 1 - accuracy(pred, target)
