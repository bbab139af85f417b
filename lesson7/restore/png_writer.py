"""A PNG written a block of rows at a time, so an image of any size never has to be in memory.

`PNGWriter(f, width, height, channels)` writes the signature and IHDR, `write_rows(block)`
filters and deflates each block of uint8 rows into IDAT chunks as it arrives, and `close()`
writes IEND (and refuses a row count other than `height`). 8-bit greyscale (1 channel) or RGB
(3 channels), not interlaced. Each row gets the PNG filter (None, Sub, Up, Average, Paeth) with
the smallest sum of absolute signed residuals, libpng's heuristic, which is what keeps photos
small. Pillow has no public row-by-row encoder, hence this file. `write_png` writes a stream of
row blocks into a file atomically.

Refs: PNG specification (W3C, 2nd ed.), §5.3 chunk layout and CRC-32, §9 filtering,
§11.2.2 IHDR; RFC 1950 (zlib stream).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lesson7.files import atomic_path

__all__ = ["PNGWriter", "write_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {1: 0, 3: 2}  # channels -> PNG colour type (0 greyscale, 2 truecolour)
_IDAT_BYTES = 1 << 18       # gather compressed data into chunks of about this size
_BLOCK_BYTES = 1 << 16      # filter this many raw bytes at a time (bounds the int16 temporaries)


class PNGWriter:
    """Streaming writer of an 8-bit greyscale or RGB PNG to the binary file `f`."""

    def __init__(self, f: BinaryIO, width: int, height: int, channels: int,
                 compress_level: int = 6) -> None:
        if channels not in COLOR_TYPES:
            raise ValueError(f"PNGWriter writes 1 (grey) or 3 (RGB) channels, got {channels}")
        if not (0 < width < 2**31 and 0 < height < 2**31):
            raise ValueError(f"PNG sizes must be 1 .. 2^31-1 px, got {width}x{height}")
        self.f, self.width, self.height, self.channels = f, width, height, channels
        self.rows_written = 0
        self._prev = np.zeros(width * channels, dtype=np.uint8)  # the row above the first: zeros
        self._zlib = zlib.compressobj(compress_level)
        self._pending = bytearray()
        f.write(SIGNATURE)
        # width, height, bit depth 8, colour type, compression 0, filter method 0, no interlace
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels],
                                         0, 0, 0))

    def _chunk(self, kind: bytes, data: bytes | bytearray) -> None:
        self.f.write(struct.pack(">I", len(data)) + kind)
        self.f.write(data)
        self.f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))

    def write_rows(self, rows: np.ndarray) -> None:
        """Append (n, width) or (n, width, channels) uint8 rows below the ones written so far."""
        rows = np.asarray(rows)
        expected = (self.width,) if self.channels == 1 else (self.width, self.channels)
        if rows.dtype != np.uint8 or rows.shape[1:] != expected:
            raise ValueError(f"expected uint8 rows of shape (n, {', '.join(map(str, expected))}),"
                             f" got {rows.dtype} {rows.shape}")
        if self.rows_written + len(rows) > self.height:
            raise ValueError(f"PNG is {self.height} rows high; got row {self.rows_written + len(rows)}")
        flat = rows.reshape(len(rows), -1)
        step = max(1, _BLOCK_BYTES // flat.shape[1])
        for i in range(0, len(flat), step):
            block = flat[i:i + step]
            self._pending += self._zlib.compress(filter_rows(block, self._prev, self.channels))
            self._prev = block[-1].copy()
            if len(self._pending) >= _IDAT_BYTES:
                self._chunk(b"IDAT", self._pending)
                self._pending = bytearray()
        self.rows_written += len(rows)

    def close(self) -> None:
        """Flush the deflate stream and write IEND; every row must have been written."""
        if self.rows_written != self.height:
            raise ValueError(f"PNG is {self.height} rows high but {self.rows_written} were written")
        self._pending += self._zlib.flush()
        self._chunk(b"IDAT", self._pending)
        self._chunk(b"IEND", b"")


def filter_rows(rows: np.ndarray, prev: np.ndarray, bpp: int) -> bytes:
    """(n, L) uint8 rows -> n * (1 filter byte + L filtered bytes), each row's best filter.

    `prev` is the (unfiltered) row above the first one; `bpp` the bytes per pixel.
    """
    x = rows.astype(np.int16)                                    # (n, L)
    up = np.vstack([prev[None].astype(np.int16), x[:-1]])        # b: the pixel above
    left = np.zeros_like(x)
    left[:, bpp:] = x[:, :-bpp]                                  # a: the pixel to the left
    up_left = np.zeros_like(x)
    up_left[:, bpp:] = up[:, :-bpp]                              # c: above and to the left
    p = left + up - up_left                                      # Paeth predictor (§9.4)
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - up_left)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    residuals = np.stack([x, x - left, x - up, x - (left + up) // 2, x - paeth]) & 0xFF  # (5, n, L)
    signed = np.minimum(residuals, 256 - residuals)              # |residual| as a signed byte
    best = signed.sum(axis=2, dtype=np.int64).argmin(axis=0)     # (n,) filter type per row
    out = np.empty((len(x), 1 + x.shape[1]), dtype=np.uint8)
    out[:, 0] = best
    out[:, 1:] = residuals[best, np.arange(len(x))]
    return out.tobytes()


def write_png(path: str | os.PathLike, size: tuple[int, int], blocks: Iterable[np.ndarray]) -> Path:
    """Write an image of `size` = (w, h) that arrives as uint8 row blocks ((n, w) grey or
    (n, w, 3) RGB, top to bottom) into the PNG `path`, atomically: an error or Ctrl-C midway
    leaves no file (and any previous one untouched)."""
    w, h = size
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        writer = None
        for block in blocks:
            if writer is None:
                writer = PNGWriter(f, w, h, 1 if block.ndim == 2 else block.shape[2])
            writer.write_rows(block)
        if writer is None:
            raise ValueError(f"no rows to write into {path}")
        writer.close()
    return Path(path)
