"""Shared fixtures: tiny in-memory data, and the location of ../shared (tests skip without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

_DEFAULT_SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
SHARED = Path(os.environ.get("LESSON7_SHARED", _DEFAULT_SHARED)).resolve()
# The package finds offline weights through $LESSON7_WEIGHTS (lesson7/weights.py), never through
# ../shared: point it at the staged files when they are there.
if (SHARED / "weights").is_dir():
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p}")
    return p


class TensorLoader:
    """Minimal loader over tensors (the Learner only needs iteration and len)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, bs: int, shuffle: bool = False) -> None:
        self.x, self.y, self.bs, self.shuffle, self.epoch = x, y, bs, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.x) + self.bs - 1) // self.bs

    def __iter__(self):
        idx = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.epoch)) \
            if self.shuffle else torch.arange(len(self.x))
        for i in range(0, len(idx), self.bs):
            j = idx[i:i + self.bs]
            yield self.x[j], self.y[j]


class TensorData:
    def __init__(self, x, y, bs=32, vx=None, vy=None):
        self.train_dl = TensorLoader(x, y, bs, shuffle=True)
        self.valid_dl = TensorLoader(x if vx is None else vx, y if vy is None else vy, bs * 2)


@pytest.fixture
def toy_data() -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 10, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorData(x, y)
