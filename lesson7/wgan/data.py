"""The WGAN's data: every image of a folder (or MNIST's IDX files) in memory, as uint8.

Images are resized (short side) and centre-cropped to `size` and scaled to [-1, 1] per batch
(the lesson's normalize([0.5]*3, [0.5]*3) on y, `lesson7-wgan.ipynb`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lesson7.data.idx import read_idx
from lesson7.data.resize import cover_crop
from lesson7.data.tensor_batches import TensorBatches

__all__ = ["IDX_IMAGES", "IDX_LABELS", "load_images", "to_gan_range", "ImageBatches"]

IDX_IMAGES = "train-images-idx3-ubyte.gz"
IDX_LABELS = "train-labels-idx1-ubyte.gz"


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
        chunks = [cover_crop(c, size) for c in x.split(4096)]
        return torch.cat(chunks).round().clamp(0, 255).to(torch.uint8), labels
    from lesson7.data.images import open_image
    from lesson7.data.items import get_image_files

    files = get_image_files(root)[:limit]
    mode = "L" if channels == 1 else "RGB"
    out = torch.empty(len(files), channels, size, size, dtype=torch.uint8)
    for i, f in enumerate(files):
        img = open_image(f, mode)[None] * 255                               # (1, C, H, W)
        out[i] = cover_crop(img, size)[0].round().clamp(0, 255).to(torch.uint8)
    return out, None


def to_gan_range(x: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1] (the lesson's normalize([0.5]*3, [0.5]*3) on y)."""
    return x.float().div(127.5).sub(1)


class ImageBatches(TensorBatches):
    """Shuffled float batches in [-1, 1] from a uint8 image tensor (drops the last partial one);
    epoch e's order comes from seed + e (`lesson7.data.tensor_batches`)."""

    def __init__(self, images: Tensor, bs: int, seed: int = 0) -> None:
        if len(images) < bs:
            raise ValueError(f"--bs {bs} is larger than the dataset ({len(images)} images)")
        super().__init__(images, bs=bs, seed=seed, drop_last=True, transform=_to_gan_range)


def _to_gan_range(xb: Tensor, g: torch.Generator) -> Tensor:
    return to_gan_range(xb)
