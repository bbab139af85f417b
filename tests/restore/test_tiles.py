"""`tiled_bands` (issue 11 item 6): the streamed bands, stacked, are the whole-image blend of
`predict_tiled` before streaming, for any overlap (also more than half a tile) and scale; every
band is at most one band of tiles high."""

from __future__ import annotations

import pytest
import torch
from conftest import whole_image_tiled
from torch import nn

from lesson7.restore.tiles import predict_tiled, tiled_bands

pytestmark = pytest.mark.usefixtures("one_thread")




@pytest.mark.parametrize("h, w, tile, overlap", [
    (90, 120, 48, 16), (200, 77, 128, 100), (33, 40, 64, 8), (50, 51, 20, 19)])
@pytest.mark.parametrize("scale", [1, 2])
@torch.no_grad()
def test_bands_stack_to_the_whole_image_tiled(h, w, tile, overlap, scale):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2 * scale**2, 5, padding=2), nn.PixelShuffle(scale))
    img = torch.rand(3, h, w)
    bands = list(tiled_bands(model, lambda y0, y1: img[:, y0:y1], h, w, tile, overlap, scale))
    assert all(b.shape[1] <= tile * scale for b in bands)
    ref = whole_image_tiled(model, img, tile, overlap, scale)
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
