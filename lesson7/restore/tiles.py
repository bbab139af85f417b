"""Tiled prediction: run an image-to-image model over an image of any size, tile by tile.

Tiles of `tile`×`tile` px overlap by `overlap` px; each output tile is weighted by a ramp
that rises linearly across the overlap (weight 1 in the interior and on the image border), and
the weighted sum is divided by the summed weights. Where tiles overlap the result is a
cross-fade, so there is no visible seam; where only one tile covers a pixel it is that tile's
output exactly. Images no larger than one tile run in one pass.
Ref: the overlap-tile strategy of Ronneberger et al. 2015 (U-Net), with linear blending.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["tile_starts", "blend_ramp", "predict_tiled"]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering [0, length) with tiles of `tile` overlapping by >= `overlap`."""
    if tile <= overlap:
        raise ValueError(f"--tile ({tile}) must be larger than --overlap ({overlap})")
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def blend_ramp(length: int, overlap: int, first: bool, last: bool) -> Tensor:
    """1-D weights for one tile: linear ramps over `overlap` px on inner edges, 1 elsewhere."""
    w = torch.ones(length)
    if overlap <= 0:
        return w
    ramp = (torch.arange(overlap, dtype=torch.float32) + 1) / (overlap + 1)  # (0, 1), never 0
    n = min(overlap, length)
    if not first:
        w[:n] = ramp[:n]
    if not last:
        w[-n:] = torch.minimum(w[-n:], ramp[:n].flip(0))
    return w


@torch.no_grad()
def predict_tiled(model: Callable[[Tensor], Tensor], img: Tensor, tile: int = 512,
                  overlap: int = 32) -> Tensor:
    """`model` applied to (C, H, W) `img` in overlapping tiles; returns (C_out, H, W).

    The model is called on (1, C, h, w) tiles on `img`'s device and must return the same
    spatial size. The output is accumulated on the CPU in float32.
    """
    if img.dim() != 3:
        raise ValueError(f"expected a (C, H, W) image, got shape {tuple(img.shape)}")
    if overlap < 0:
        raise ValueError(f"--overlap must be >= 0, got {overlap}")
    _, h, w = img.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    out: Tensor | None = None
    weight = torch.zeros(1, h, w)
    for i, y0 in enumerate(ys):
        th = min(tile, h)
        wy = blend_ramp(th, overlap, first=i == 0, last=i == len(ys) - 1)
        for j, x0 in enumerate(xs):
            tw = min(tile, w)
            wx = blend_ramp(tw, overlap, first=j == 0, last=j == len(xs) - 1)
            pred = model(img[None, :, y0:y0 + th, x0:x0 + tw])[0].float().cpu()  # (C_out, th, tw)
            if pred.shape[-2:] != (th, tw):
                raise ValueError(f"model changed the tile size {(th, tw)} "
                                 f"to {tuple(pred.shape[-2:])}")
            if out is None:
                out = torch.zeros(pred.shape[0], h, w)
            wt = wy[:, None] * wx[None, :]                                            # (th, tw)
            out[:, y0:y0 + th, x0:x0 + tw] += pred * wt
            weight[:, y0:y0 + th, x0:x0 + tw] += wt
    assert out is not None
    return out / weight
