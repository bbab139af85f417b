"""`tiled_bands` (issue 11 item 6): the streamed bands, stacked, are the whole-image blend of
`predict_tiled` before streaming, for any overlap (also more than half a tile) and scale; every
band is at most one band of tiles high."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lesson7.restore.tiles import blend_ramp, predict_tiled, tile_starts, tiled_bands

torch.set_num_threads(1)


def whole_image_blend(model, img, tile, overlap, scale):
    """The pre-streaming accumulator: full-size weighted sums and a full-size weight image."""
    _, h, w = img.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    th, tw, s = min(tile, h), min(tile, w), scale
    out, weight = None, torch.zeros(1, h * s, w * s)
    for i, y0 in enumerate(ys):
        wy = blend_ramp(th * s, overlap * s, first=i == 0, last=i == len(ys) - 1)
        for j, x0 in enumerate(xs):
            wx = blend_ramp(tw * s, overlap * s, first=j == 0, last=j == len(xs) - 1)
            pred = model(img[None, :, y0:y0 + th, x0:x0 + tw])[0]
            out = torch.zeros(pred.shape[0], h * s, w * s) if out is None else out
            out[:, y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += pred * (wy[:, None] * wx)
            weight[:, y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += wy[:, None] * wx
    return out / weight


@pytest.mark.parametrize("h, w, tile, overlap", [
    (90, 120, 48, 16), (200, 77, 128, 100), (33, 40, 64, 8), (50, 51, 20, 19)])
@pytest.mark.parametrize("scale", [1, 2])
@torch.no_grad()
def test_bands_stack_to_the_whole_image_blend(h, w, tile, overlap, scale):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2 * scale**2, 5, padding=2), nn.PixelShuffle(scale))
    img = torch.rand(3, h, w)
    bands = list(tiled_bands(model, lambda y0, y1: img[:, y0:y1], h, w, tile, overlap, scale))
    assert all(b.shape[1] <= tile * scale for b in bands)
    ref = whole_image_blend(model, img, tile, overlap, scale)
    torch.testing.assert_close(torch.cat(bands, dim=1), ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(predict_tiled(model, img, tile, overlap, scale), ref,
                               rtol=0, atol=1e-6)


def test_rows_are_read_one_band_at_a_time():
    asked = []

    def read_rows(y0, y1):
        asked.append((y0, y1))
        return torch.zeros(1, y1 - y0, 70)

    list(tiled_bands(lambda x: x, read_rows, 300, 70, tile=128, overlap=32))
    assert asked == [(0, 128), (96, 224), (172, 300)]
