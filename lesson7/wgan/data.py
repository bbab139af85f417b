"""The WGAN's data: every image of a folder (or MNIST's IDX files) in memory, as uint8.

Images are resized (short side) and centre-cropped to `size` and scaled to [-1, 1] per batch
(the lesson's normalize([0.5]*3, [0.5]*3) on y, `lesson7-wgan.ipynb`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lesson7.data.idx import read_idx

__all__ = ["IDX_IMAGES", "IDX_LABELS", "load_images", "to_gan_range", "ImageBatches"]

IDX_IMAGES = "train-images-idx3-ubyte.gz"
IDX_LABELS = "train-labels-idx1-ubyte.gz"


def _fit_size(x: Tensor, size: int) -> Tensor:  # x: (N, C, H, W) float -> (N, C, size, size)
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    x = F.interpolate(x, size=(max(size, round(h * scale)), max(size, round(w * scale))),
                      mode="bilinear", antialias=True, align_corners=False)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top:top + size, left:left + size]


def load_images(path: str | Path, size: int, channels: int, limit: int | None = None
                ) -> tuple[Tensor, Tensor | None]:
    """All images under `path` as uint8 (N, channels, size, size), plus labels for MNIST IDX."""
    root = Path(path).expanduser()
    if not root.is_dir():  # an archive: extract it once into the data cache
        from lesson7.data.datasets import resolve_dataset

        root = resolve_dataset(root, download=False)
    idx = next(iter(sorted(root.rglob(IDX_IMAGES))), None)
    if idx is not None:
        arr = torch.from_numpy(read_idx(idx)[:limit].copy())[:, None]      # (N, 1, 28, 28)
        labels = torch.from_numpy(read_idx(idx.parent / IDX_LABELS)[:limit].astype(np.int64))
        x = arr.float().expand(-1, channels, -1, -1)
        chunks = [_fit_size(c, size) for c in x.split(4096)]
        return torch.cat(chunks).round().clamp(0, 255).to(torch.uint8), labels
    from lesson7.data.images import open_image
    from lesson7.data.items import get_image_files

    files = get_image_files(root)[:limit]
    mode = "L" if channels == 1 else "RGB"
    out = torch.empty(len(files), channels, size, size, dtype=torch.uint8)
    for i, f in enumerate(files):
        img = open_image(f, mode)[None] * 255                               # (1, C, H, W)
        out[i] = _fit_size(img, size)[0].round().clamp(0, 255).to(torch.uint8)
    return out, None


def to_gan_range(x: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1] (the lesson's normalize([0.5]*3, [0.5]*3) on y)."""
    return x.float().div(127.5).sub(1)


class ImageBatches:
    """Shuffled float batches in [-1, 1] from a uint8 image tensor (drops the last partial one)."""

    def __init__(self, images: Tensor, bs: int, seed: int = 0) -> None:
        if len(images) < bs:
            raise ValueError(f"--bs {bs} is larger than the dataset ({len(images)} images)")
        self.images, self.bs, self.seed, self.epoch = images, bs, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images) // self.bs

    def __iter__(self) -> Iterator[Tensor]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.images), generator=g)
        for i in range(len(self)):
            yield to_gan_range(self.images[order[i * self.bs:(i + 1) * self.bs]])
