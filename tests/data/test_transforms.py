"""Batch transforms: pad+crop is a shift, same draws for x and y, one resample per batch."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from lesson7.data.augment import FlipLR, Rotate, SymmetricWarp, Zoom, crop_batch
from lesson7.data.transforms import (
    BatchTransforms,
    brightness,
    contrast,
    flip_lr,
    get_transforms,
    rand_pad,
    rand_zoom,
    rotate,
    symmetric_warp,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_rand_pad_crop_keeps_shape_and_is_a_zero_filled_shift():
    x = torch.rand(64, 1, 28, 28) * 0.9 + 0.1  # no zeros inside, so the fill is visible
    out, _ = BatchTransforms(rand_pad(3, 28))(x, None, gen())
    assert out.shape == x.shape
    shifts = set()
    for a, b in zip(x, out, strict=True):
        match = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                 if torch.equal(b, _shift(a, dy, dx))]
        assert len(match) == 1
        shifts.add(match[0])
    assert len(shifts) > 10  # offsets really vary across the batch


def _shift(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """img moved by (dy, dx) with zeros coming in."""
    padded = F.pad(img, (3, 3, 3, 3))
    h, w = img.shape[-2:]
    return padded[:, 3 - dy:3 - dy + h, 3 - dx:3 - dx + w]


def test_tfm_y_gives_y_exactly_the_draws_of_x():
    x = torch.rand(16, 3, 20, 20)
    train, _ = get_transforms(max_zoom=2.0)
    tfms = BatchTransforms([*train, *rand_pad(2)], tfm_y=True)
    out_x, out_y = tfms(x, x.clone(), gen(1))
    assert not torch.allclose(out_x, x)           # something happened ...
    assert torch.equal(out_x, out_y)              # ... identically to x and y


def test_without_tfm_y_an_image_target_is_untouched():
    x = torch.rand(4, 1, 8, 8)
    _, y = BatchTransforms([rotate(30, p=1.0)], tfm_y=False)(x, x.clone(), gen())
    assert torch.equal(y, x)


class CountCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


def test_all_geometry_is_one_affine_grid_and_one_grid_sample_per_batch():
    x = torch.rand(8, 3, 16, 16)
    train, _ = get_transforms(max_zoom=1.5)
    with CountCalls() as calls:
        BatchTransforms(train, tfm_y=False)(x, None, gen())
    assert calls.names.count("grid_sample") == 1
    assert calls.names.count("affine_grid") == 1


def test_flip_only_is_exact():
    x = torch.rand(32, 1, 5, 7)
    out, _ = BatchTransforms([flip_lr(p=0.5)])(x, None, gen(3))
    flipped = [torch.equal(o, a.flip(-1)) for o, a in zip(out, x, strict=True)]
    kept = [torch.equal(o, a) for o, a in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and 0 < sum(flipped) < 32


def test_rotate_90_matches_rot90():
    x = torch.rand(2, 1, 9, 9)
    out, _ = BatchTransforms([Rotate(p=1.0, degrees=(90.0, 90.0))])(x, None, gen())
    rot = [torch.rot90(x, k, dims=(-2, -1)) for k in (1, -1)]
    assert min((out - r).abs().max().item() for r in rot) < 1e-4


def test_flip_with_resampling_equals_exact_flip():
    x = torch.rand(4, 1, 6, 6)
    out, _ = BatchTransforms([FlipLR(p=1.0), Zoom(p=1.0, scale=(1.0, 1.0))])(x, None, gen())
    assert torch.allclose(out, x.flip(-1), atol=1e-5)


def test_identity_parameters_leave_images_unchanged():
    x = torch.rand(4, 3, 10, 12)
    tfms = [Zoom(p=1.0, scale=(1.0, 1.0)), SymmetricWarp(p=1.0, magnitude=(0.0, 0.0)),
            Rotate(p=1.0, degrees=(0.0, 0.0))]
    out, _ = BatchTransforms(tfms)(x, None, gen())
    assert torch.allclose(out, x, atol=1e-5)


def test_zoom_and_warp_change_images_and_stay_in_range():
    x = torch.rand(4, 3, 16, 16)
    for t in (rand_zoom((2.0, 2.0), p=1.0), symmetric_warp(0.4, p=1.0)):
        out, _ = BatchTransforms([t])(x, None, gen())
        assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
        assert (out - x).abs().mean() > 0.05


def test_brightness_and_contrast_follow_logit_space_definitions():
    x = torch.full((2, 1, 4, 4), 0.3)
    up, _ = BatchTransforms([brightness((0.7, 0.7), p=1.0)])(x, None, gen())
    expected = torch.sigmoid(torch.logit(torch.tensor(0.3)) + math.log(0.7 / 0.3))
    assert torch.allclose(up, expected.expand_as(x), atol=1e-5)
    same, _ = BatchTransforms([brightness((0.7, 0.7), p=0.0)])(x, None, gen())
    assert torch.equal(same, x)
    low, _ = BatchTransforms([contrast((0.5, 0.5), p=1.0)])(x, None, gen())
    assert torch.allclose(low, torch.sigmoid(torch.logit(torch.tensor(0.3)) * 0.5).expand_as(x))


def test_same_seed_same_output_different_seed_different_output():
    x = torch.rand(8, 3, 12, 12)
    train, _ = get_transforms()
    a, _ = BatchTransforms(train)(x, None, gen(5))
    b, _ = BatchTransforms(train)(x, None, gen(5))
    c, _ = BatchTransforms(train)(x, None, gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_get_transforms_follows_fastai_defaults():
    train, valid = get_transforms()
    names = [type(t).__name__ for t in train]
    assert names == ["CropPad", "FlipLR", "SymmetricWarp", "Rotate", "Zoom", "Brightness",
                     "Contrast"]
    assert train[0].random and not valid[0].random and len(valid) == 1
    assert train[3].degrees == (-10.0, 10.0) and train[4].scale == (1.0, 1.1)
    assert train[5].change == pytest.approx((0.4, 0.6)) and train[2].p == 0.75
    assert [type(t).__name__ for t in get_transforms(max_zoom=1.0, max_warp=0)[0]] == \
        ["CropPad", "FlipLR", "Rotate", "Brightness", "Contrast"]


def test_crop_batch_random_and_centre():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    centre = crop_batch(x, 4)
    assert torch.equal(centre, x[:, :, 1:5, 1:5])
    pct = torch.tensor([0.0, 0.999], dtype=torch.float64)
    corners = crop_batch(x, 4, pct, pct)
    assert torch.equal(corners[0], x[0, :, :4, :4]) and torch.equal(corners[1], x[1, :, 2:, 2:])
    small = crop_batch(x, 8)  # reflection-padded up to 8x8
    assert small.shape == (2, 1, 8, 8) and torch.equal(small[:, :, 1:7, 1:7], x)


def test_bad_parameters_raise_value_errors():
    with pytest.raises(ValueError, match="p must be"):
        flip_lr(p=1.5)
    with pytest.raises(ValueError, match="mode"):
        rand_pad(3, 28, mode="wrap")
    with pytest.raises(ValueError, match="not a lesson7 transform"):
        BatchTransforms([lambda x: x])
