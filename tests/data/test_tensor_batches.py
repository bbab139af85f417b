"""TensorBatches: the seeded in-memory batcher (order per seed + epoch, drop_last, transform)."""

from __future__ import annotations

import pytest
import torch

from lesson7.data.tensor_batches import TensorBatches


def _order(batches: TensorBatches) -> list[int]:
    """The item order of one pass, read off x = arange(N)."""
    return torch.cat([xb for xb, _ in batches]).tolist()


def test_order_is_randperm_of_seed_plus_epoch_and_repeats():
    x, y = torch.arange(10), torch.arange(10) * 10
    a, b = TensorBatches(x, y, bs=3, seed=5), TensorBatches(x, y, bs=3, seed=5)
    a.set_epoch(2)
    b.set_epoch(2)
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(7)).tolist()
    assert _order(a) == _order(b) == _order(a) == expected  # iterating does not advance the epoch
    b.set_epoch(3)
    assert _order(b) != expected
    assert sorted(_order(b)) == list(range(10))


def test_targets_follow_inputs_and_the_last_batch_is_kept():
    x, y = torch.arange(10), torch.arange(10) * 10
    batches = list(TensorBatches(x, y, bs=4))
    assert len(TensorBatches(x, y, bs=4)) == len(batches) == 3
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    assert all(torch.equal(yb, xb * 10) for xb, yb in batches)


def test_no_shuffle_keeps_the_stored_order_and_y_none_yields_x_alone():
    x = torch.arange(7)
    batches = list(TensorBatches(x, bs=3, shuffle=False))
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]


def test_drop_last_drops_the_partial_batch():
    x = torch.arange(10)
    batches = TensorBatches(x, bs=4, drop_last=True)
    assert len(batches) == 2
    assert [len(b) for b in batches] == [4, 4]
    with pytest.raises(ValueError, match="bs 11 is larger than the data"):
        TensorBatches(x, bs=11, drop_last=True)


def test_transform_only_where_asked_with_draws_after_the_permutation():
    x, y = torch.rand(9, 1, 2, 2), torch.arange(9)

    def flip(xb: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        mask = torch.rand(len(xb), generator=g) < 0.5
        return torch.where(mask[:, None, None, None], xb.flip(-1), xb)

    plain = TensorBatches(x, y, bs=4, seed=1)
    augmented = TensorBatches(x, y, bs=4, seed=1, transform=flip)
    for b in (plain, augmented):
        b.set_epoch(1)
    # Reference: one generator seeded with seed + epoch draws the permutation, then the flips.
    g = torch.Generator().manual_seed(2)
    order = torch.randperm(9, generator=g)
    for i, ((xa, ya), (xp, yp)) in enumerate(zip(augmented, plain, strict=True)):
        idx = order[i * 4:(i + 1) * 4]
        assert torch.equal(xp, x[idx]) and torch.equal(yp, y[idx])  # untouched without transform
        assert torch.equal(xa, flip(x[idx], g))
        assert torch.equal(ya, y[idx])                                 # y is never transformed


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="bs must be >= 1"):
        TensorBatches(torch.arange(3), bs=0)
    with pytest.raises(ValueError, match="differ in length"):
        TensorBatches(torch.arange(3), torch.arange(4), bs=2)
