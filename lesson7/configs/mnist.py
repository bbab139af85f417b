"""`lesson7 mnist`: the lesson's MNIST CNNs (`lesson7-resnet-mnist.ipynb`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig
from lesson7.configs.flags import check_positive, flag

# The lesson's schedule per model: (epochs, max LR), from lesson7-resnet-mnist.ipynb.
LESSON_SCHEDULES = {"basic": (3, 0.1), "refactor": (10, 0.1), "resnet": (12, 0.05)}
MAX_LR = 10.0
"""Largest --lr accepted: larger values only make NaNs (training stops on those too)."""


@dataclass(kw_only=True)
class MnistConfig(RunConfig):
    """Train one of the lesson's MNIST models with its one-cycle schedule."""

    model: str = flag("resnet", choices=tuple(LESSON_SCHEDULES))
    """basic (3 epochs, lr 0.1), refactor (10, 0.1) or resnet (12, 0.05)."""
    epochs: int | None = flag(None)
    """Epochs of one-cycle training (default: the lesson's)."""
    lr: float | None = flag(None)
    """Max learning rate (default: the lesson's)."""
    bs: int = flag(128)
    """Batch size."""
    data: str = flag("mnist_png")
    """mnist_png folder, its .tgz, or a dataset registry name."""
    lr_find: bool = flag(False)
    """Run the LR finder first (the lesson does, end_lr=100) and save lr_find.png."""
    out: Path = flag(Path("runs/mnist"))
    """Run folder: config, metrics, plots, checkpoints."""
    overwrite: bool = flag(False)
    """Replace a finished model in --out trained with other settings (or retrain the same)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model not in LESSON_SCHEDULES:
            raise ValueError(f"--model must be one of {sorted(LESSON_SCHEDULES)}, got {self.model!r}")
        epochs, lr = LESSON_SCHEDULES[self.model]
        self.epochs = epochs if self.epochs is None else self.epochs
        self.lr = lr if self.lr is None else self.lr
        check_positive(epochs=self.epochs, lr=self.lr, bs=self.bs)
        if self.lr > MAX_LR:  # far past divergence: a typo such as 1e30 for 1e-3
            raise ValueError(f"--lr must be <= {MAX_LR}, got {self.lr}")
