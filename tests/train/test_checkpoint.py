"""Checkpoints: a round trip, the atomic writers still importable from here, usual permissions."""

from __future__ import annotations

import os
import stat

import torch
from torch import nn

import lesson7.files
import lesson7.train
from lesson7.train import checkpoint


def test_atomic_writers_are_re_exported():
    for name in ("atomic_path", "atomic_write_text", "atomic_write_json"):
        assert getattr(checkpoint, name) is getattr(lesson7.files, name)
    assert lesson7.train.atomic_path is lesson7.files.atomic_path


def test_round_trip_with_tensor_metadata_and_mode_0644(tmp_path):
    torch.manual_seed(0)
    model, other = nn.Linear(3, 2), nn.Linear(3, 2)
    old = os.umask(0o022)
    try:
        path = checkpoint.save_checkpoint(tmp_path / "m", model, epoch=torch.tensor(3))
    finally:
        os.umask(old)
    meta = checkpoint.load_checkpoint(path, other)
    assert meta["epoch"] == 3  # a one-element tensor is stored as a number
    assert torch.equal(model.weight, other.weight)
    for p in (path, path.with_suffix(".json")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
