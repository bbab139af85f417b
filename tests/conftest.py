"""Shared fixtures: tiny in-memory data, and the location of ../shared (tests skip without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from lesson7.data.tensor_batches import TensorBatches

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


class TensorData:
    """Train and valid ``TensorBatches`` (valid: ``vx``/``vy``, or the training tensors)."""

    def __init__(self, x, y, bs=32, vx=None, vy=None):
        self.train_dl = TensorBatches(x, y, bs=bs)
        self.valid_dl = TensorBatches(x if vx is None else vx, y if vy is None else vy,
                                      bs=bs * 2, shuffle=False)


@pytest.fixture
def toy_data() -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 10, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorData(x, y)
