"""Checkpoints: a round trip, the atomic writers still importable from here, usual permissions;
metadata that cannot be torn from its tensors by a kill; damaged files named in one line."""

from __future__ import annotations

import os
import stat

import pytest
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


def _trained_adam(steps: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        model(torch.ones(1, 3)).sum().backward()
        opt.step()
        opt.zero_grad()
    return model, opt


def test_a_kill_between_the_two_renames_cannot_tear_weights_from_their_metadata(tmp_path):
    """Issue 11 fault injection: killed after `last.safetensors` was replaced but before
    `last.json` was, the old code resumed the new weights with the old epoch and optimizer step
    count. The metadata inside the safetensors header is read instead; it matches the tensors."""
    path = tmp_path / "state" / "last"
    checkpoint.save_checkpoint(path, *_trained_adam(2), epoch=1)
    stale_json = path.with_suffix(".json").read_text()
    model3, opt3 = _trained_adam(3)
    checkpoint.save_checkpoint(path, model3, opt3, epoch=2)
    path.with_suffix(".json").write_text(stale_json)  # the torn state a SIGKILL leaves

    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    meta = checkpoint.load_checkpoint(path, model, opt)
    assert meta["epoch"] == 2 and checkpoint.checkpoint_metadata(path)["epoch"] == 2
    assert torch.equal(model.weight, model3.weight)
    assert opt.state_dict()["state"][0]["step"] == opt3.state_dict()["state"][0]["step"] == 3
    assert checkpoint.read_metadata(path)["epoch"] == 1  # the .json is only a readable copy


@pytest.mark.parametrize("damage, says", [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(p.read_bytes()[:-100]), "truncated or not a safetensors file"),
    (lambda p: p.write_bytes(p.read_bytes()[:7]), "truncated or not a safetensors file"),
    (lambda p: torch.save(nn.Linear(3, 2).state_dict(), p), "is a pickle"),
])
def test_a_damaged_or_pickled_file_is_a_value_error_naming_it(tmp_path, damage, says):
    path = checkpoint.save_checkpoint(tmp_path / "m", nn.Linear(3, 2))
    damage(path)
    for load in (lambda: checkpoint.load_checkpoint(path, nn.Linear(3, 2)),
                 lambda: checkpoint.checkpoint_metadata(path),
                 lambda: checkpoint.load_safetensors(path)):
        with pytest.raises(ValueError, match=says) as e:
            load()
        assert str(path) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("text, says", [("{oops", "not valid JSON"), ("[1, 2]", "not a JSON object")])
def test_invalid_metadata_json_is_a_value_error_naming_it(tmp_path, text, says):
    path = checkpoint.save_checkpoint(tmp_path / "m", nn.Linear(3, 2))
    path.with_suffix(".json").write_text(text)
    with pytest.raises(ValueError, match=says) as e:
        checkpoint.read_metadata(path)
    assert str(path.with_suffix(".json")) in str(e.value)
