"""MNIST's IDX file format (LeCun et al.): a magic number, the dimensions, then raw bytes."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

__all__ = ["read_idx"]


def read_idx(path: str | Path) -> np.ndarray:
    """The array in a gzipped IDX file (e.g. train-images-idx3-ubyte.gz: (60000, 28, 28) uint8)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
