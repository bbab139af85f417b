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
                  overlap: int = 32, scale: int = 1) -> Tensor:
    """`model` applied to (C, H, W) `img` in overlapping tiles; returns (C_out, H*scale, W*scale).

    The model is called on (1, C, h, w) tiles on `img`'s device and must return
    (1, C_out, h*scale, w*scale): `scale` > 1 for a model that enlarges its input itself. `tile`
    and `overlap` are in input pixels. The output is accumulated on the CPU in float32.
    """
    if img.dim() != 3:
        raise ValueError(f"expected a (C, H, W) image, got shape {tuple(img.shape)}")
    if overlap < 0:
        raise ValueError(f"--overlap must be >= 0, got {overlap}")
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    _, h, w = img.shape
    s = scale
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    out: Tensor | None = None
    weight = torch.zeros(1, h * s, w * s)
    for i, y0 in enumerate(ys):
        th = min(tile, h)
        wy = blend_ramp(th * s, overlap * s, first=i == 0, last=i == len(ys) - 1)
        for j, x0 in enumerate(xs):
            tw = min(tile, w)
            wx = blend_ramp(tw * s, overlap * s, first=j == 0, last=j == len(xs) - 1)
            pred = model(img[None, :, y0:y0 + th, x0:x0 + tw])[0].float().cpu()  # (C_out, th*s, tw*s)
            if pred.shape[-2:] != (th * s, tw * s):
                raise ValueError(f"model turned a {(th, tw)} tile into {tuple(pred.shape[-2:])}, "
                                 f"expected {(th * s, tw * s)}")
            if out is None:
                out = torch.zeros(pred.shape[0], h * s, w * s)
            wt = wy[:, None] * wx[None, :]                                    # (th*s, tw*s)
            out[:, y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += pred * wt
            weight[:, y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += wt
    assert out is not None
    return out / weight
