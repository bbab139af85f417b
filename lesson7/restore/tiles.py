"""Tiled prediction: run an image-to-image model over an image of any size, tile by tile.

Tiles of `tile`×`tile` px overlap by `overlap` px; each output tile is weighted by a ramp
that rises linearly across the overlap (weight 1 in the interior and on the image border), and
the weighted sum is divided by the summed weights. Where tiles overlap the result is a
cross-fade, so there is no visible seam; where only one tile covers a pixel it is that tile's
output exactly. Images no larger than one tile run in one pass.
`tiled_bands` yields the result one band of tile rows at a time, so memory is bounded by a
band (tile height x image width), not by the image; `predict_tiled` assembles the bands.
Ref: the overlap-tile strategy of Ronneberger et al. 2015 (U-Net), with linear blending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

__all__ = ["tile_starts", "blend_ramp", "predict_tiled", "tiled_bands"]


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
    and `overlap` are in input pixels. The output is assembled on the CPU in float32 from the
    row bands of `tiled_bands`.
    """
    if img.dim() != 3:
        raise ValueError(f"expected a (C, H, W) image, got shape {tuple(img.shape)}")
    _, h, w = img.shape
    bands = tiled_bands(model, lambda y0, y1: img[:, y0:y1], h, w, tile, overlap, scale)
    return torch.cat(list(bands), dim=1)


@torch.no_grad()
def tiled_bands(model: Callable[[Tensor], Tensor], read_rows: Callable[[int, int], Tensor],
                height: int, width: int, tile: int = 512, overlap: int = 32,
                scale: int = 1) -> Iterator[Tensor]:
    """The output of `predict_tiled`, top to bottom, as finished (C_out, rows, width*scale) blocks.

    Streaming: `read_rows(y0, y1)` gives input rows [y0, y1) as (C, y1 - y0, width) on the
    model's device, one band of tiles at a time, and only one band's float32 sums live on the
    CPU. A band's rows that the next band also covers wait there, then get the next band's
    tiles added (the same sums in the same order as one full-size accumulator); the other
    rows are divided by their summed weights and yielded (a new tensor each time, the caller's
    to change). The weights are separable, sum_i wy_i(r) * sum_j wx_j(c), so no weight image
    is kept either.
    """
    if overlap < 0:
        raise ValueError(f"--overlap must be >= 0, got {overlap}")
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    s = scale
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    th, tw = min(tile, height), min(tile, width)
    wxs = [blend_ramp(tw * s, overlap * s, first=j == 0, last=j == len(xs) - 1)
           for j in range(len(xs))]
    wx_sum = torch.zeros(width * s)                                   # (W*s,)
    for x0, wx in zip(xs, wxs, strict=True):
        wx_sum[x0 * s:(x0 + tw) * s] += wx
    carry, carry_wy = None, torch.zeros(0)  # sums of rows the next band also covers
    for i, y0 in enumerate(ys):
        band = read_rows(y0, y0 + th)                                 # (C, th, W)
        wy = blend_ramp(th * s, overlap * s, first=i == 0, last=i == len(ys) - 1)
        acc = None
        for x0, wx in zip(xs, wxs, strict=True):
            pred = model(band[None, :, :, x0:x0 + tw])[0].float().cpu()  # (C_out, th*s, tw*s)
            if pred.shape[-2:] != (th * s, tw * s):
                raise ValueError(f"model turned a {(th, tw)} tile into {tuple(pred.shape[-2:])}, "
                                 f"expected {(th * s, tw * s)}")
            if acc is None:
                acc = torch.zeros(pred.shape[0], th * s, width * s)   # (C_out, th*s, W*s)
                if carry is not None:
                    acc[:, :carry.shape[1]] = carry
            acc[:, :, x0 * s:(x0 + tw) * s] += pred * (wy[:, None] * wx[None, :])
        assert acc is not None
        del band, pred  # only the sums stay while the caller works on this band
        wy_sum = wy.clone()
        wy_sum[:len(carry_wy)] += carry_wy
        done = (ys[i + 1] - y0) * s if i + 1 < len(ys) else th * s    # rows no later band touches
        carry, carry_wy = acc[:, done:].clone(), wy_sum[done:]
        finished = acc[:, :done]                                      # (C_out, done, W*s)
        finished /= wy_sum[:done, None] * wx_sum[None, :]              # in place: one band in memory
        yield finished
