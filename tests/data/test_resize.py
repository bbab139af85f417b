"""cover_crop: resize to cover, keep the aspect ratio, centre-crop; tested on odd 127x93 inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from lesson7.data.images import resize_to_cover
from lesson7.data.resize import cover_crop


def _image(h: int = 127, w: int = 93) -> torch.Tensor:  # (N, C, H, W) smooth float image
    rows = torch.linspace(0, 1, h)[:, None]
    cols = torch.linspace(0, 1, w)[None, :]
    return torch.stack([rows * cols, rows.expand(h, w), cols.expand(h, w)])[None].repeat(2, 1, 1, 1)


def test_shapes_batched_and_single():
    x = _image()
    assert cover_crop(x, 64).shape == (2, 3, 64, 64)
    assert cover_crop(x[0], 64).shape == (3, 64, 64)
    assert cover_crop(x, (48, 80)).shape == (2, 3, 48, 80)
    assert cover_crop(x[:, :1, :20, :30], 64).shape == (2, 1, 64, 64)  # small images are enlarged


def test_aspect_ratio_is_kept_then_the_centre_is_cut():
    x = _image()
    # 93 -> 64 sets the scale, so 127 -> round(127 * 64 / 93) = 87 rows: the resize PIL's
    # resize_to_cover picks for the same image, whose centre 64 rows are kept.
    pil = resize_to_cover(Image.fromarray(np.zeros((127, 93), np.uint8)), 64)
    assert (pil.height, pil.width) == (87, 64)
    resized = F.interpolate(x, size=(87, 64), mode="bilinear", antialias=True, align_corners=False)
    torch.testing.assert_close(cover_crop(x, 64), resized[..., 11:75, :])
    torch.testing.assert_close(cover_crop(x, (87, 64)), resized)          # covers exactly: no crop
    torch.testing.assert_close(cover_crop(x[0], 64), resized[0, :, 11:75, :])


def test_no_shrink_crops_at_native_resolution_and_matching_size_is_unchanged():
    x = _image()
    assert torch.equal(cover_crop(x, 64, shrink=False), x[..., 31:95, 14:78])
    assert torch.equal(cover_crop(x, (127, 93)), x)


def test_rejects_integer_images_and_wrong_ranks():
    with pytest.raises(ValueError, match="float"):
        cover_crop(torch.zeros(3, 10, 10, dtype=torch.uint8), 4)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        cover_crop(torch.zeros(10, 10), 4)
