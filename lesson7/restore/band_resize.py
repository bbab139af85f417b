"""Pillow's `resize`, a band of rows at a time: the same pixels from only the rows they need.

Pillow resizes in two separable passes on 8-bit images, horizontal then vertical, each
rounded to 8 bits. Output row r of a resize from height h to new_h is a weighted sum of the
input rows around (r + 0.5) * h / new_h, within the filter's support (bicubic 2, Lanczos 3 px)
times max(1, h / new_h) (Pillow `src/libImaging/Resample.c`, `precompute_coeffs`). So rows
[y0, y1) of the resized image need only a window of input rows: crop it, run the horizontal
pass (row by row, exact), then the vertical pass with `resize(box=)` over the window (exact,
because the window holds every row the filter reaches). `resize_band` does this for an image
in memory; `resize_rows` for an image that arrives as row blocks, keeping only the window.

Pillow 13 runs the vertical pass first when it shrinks an image more than about twice as tall
as wide; there this and the whole-image resize differ by the 8-bit rounding and clipping
between the passes (a level or two on photos). Elsewhere they are equal, up to an occasional
one-level difference from the float32 `box` coordinates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from PIL import Image

__all__ = ["resize_band", "resize_rows"]

# The filter's support in source pixels at scale 1 (Pillow's Resample.c).
SUPPORT = {Image.Resampling.BILINEAR: 1.0, Image.Resampling.BICUBIC: 2.0,
           Image.Resampling.LANCZOS: 3.0}


def _window(y0: int, y1: int, h: int, new_h: int, resample: Image.Resampling) -> tuple[int, int]:
    """Input rows [lo, hi) that output rows [y0, y1) read, with one row of margin each side."""
    sy = h / new_h
    support = SUPPORT[resample] * max(sy, 1.0)
    lo = max(int((y0 + 0.5) * sy - support + 0.5) - 1, 0)
    hi = min(int((y1 - 0.5) * sy + support + 0.5) + 1, h)
    return min(lo, int(y0 * sy)), hi


def _vertical(rows: Image.Image, lo: int, y0: int, y1: int, h: int, new_h: int,
              resample: Image.Resampling) -> Image.Image:
    """Rows [y0, y1) of the vertical pass from `rows`, the input rows [lo, lo + rows.height)."""
    if new_h == h:
        return rows.crop((0, y0 - lo, rows.width, y1 - lo))
    sy = h / new_h
    box = (0, y0 * sy - lo, rows.width, min(y1 * sy - lo, rows.height))
    return rows.resize((rows.width, y1 - y0), resample, box=box)


def resize_band(img: Image.Image, new_size: tuple[int, int], y0: int, y1: int,
                resample: Image.Resampling = Image.Resampling.BICUBIC) -> Image.Image:
    """Rows [y0, y1) of `img.resize(new_size, resample)`, made from the input rows they need."""
    (w, h), (new_w, new_h) = img.size, new_size
    lo, hi = _window(y0, y1, h, new_h, resample)
    rows = img.crop((0, lo, w, hi))
    if new_w != w:
        rows = rows.resize((new_w, hi - lo), resample)  # horizontal pass only
    return _vertical(rows, lo, y0, y1, h, new_h, resample)


def resize_rows(blocks: Iterable[np.ndarray], size: tuple[int, int], new_size: tuple[int, int],
                resample: Image.Resampling = Image.Resampling.LANCZOS) -> Iterator[np.ndarray]:
    """`resize(new_size, resample)` of a `size` = (w, h) uint8 image that arrives as row blocks
    ((n, w) or (n, w, 3), top to bottom); yields the output's row blocks as soon as the rows
    they need have arrived, and keeps only those rows (horizontally resized already)."""
    (w, h), (new_w, new_h) = size, new_size
    buf: np.ndarray | None = None
    start = received = y0 = 0          # buf holds input rows [start, received), new_w wide
    for block in blocks:
        if new_w != w:
            block = np.asarray(Image.fromarray(block).resize((new_w, len(block)), resample))
        buf = block if buf is None else np.concatenate([buf, block])
        received += len(block)
        y1 = y0
        while y1 < new_h and (received == h or _window(y0, y1 + 1, h, new_h, resample)[1] <= received):
            y1 += 1
        if y1 == y0:
            continue
        yield np.asarray(_vertical(Image.fromarray(buf), start, y0, y1, h, new_h, resample))
        y0 = y1
        if y0 < new_h:
            keep = _window(y0, y0 + 1, h, new_h, resample)[0]
            buf, start = buf[keep - start:], keep
    if y0 != new_h:
        raise ValueError(f"resize_rows got {received} of {h} rows")
