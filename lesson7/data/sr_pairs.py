"""Super-resolution pairs made on the fly: a random crop of a clean photo and its realistic
degradation at 1/scale of the size (blur, noise, downscale, JPEG twice; `RealCrappifier`).

Every sample is a fresh crop with a fresh degradation, the way Real-ESRGAN trains (Wang et al.
2021, arXiv:2107.10833), so a few hundred photos give an unbounded stream of pairs. The
randomness of sample i in epoch e is a function of (seed, e, i) alone, so a run is repeatable
whatever the number of loader workers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from lesson7.data.crappify import RealCrappifier, as_stored
from lesson7.data.images import open_pil_image, pil_to_tensor

__all__ = ["degrade_real", "RealSRPairs"]


def degrade_real(hr: Image.Image, scale: int, rng: random.Random,
                 quality: tuple[int, int] = (30, 95)) -> Image.Image:
    """The realistic degradation of `hr` (W, H multiples of `scale`) at (W/scale, H/scale):
    `RealCrappifier` with the output short side at 1/scale, its JPEG step applied in memory."""
    w, h = hr.size
    if w % scale or h % scale:
        raise ValueError(f"image size {hr.size} is not a multiple of the scale {scale}")
    crappifier = RealCrappifier(size=min(w, h) // scale, quality=quality)
    lr = as_stored(crappifier(hr, rng))  # its JPEG step applied in memory
    if lr.size != (w // scale, h // scale):  # crappify truncates the long side; pin it exactly
        lr = lr.resize((w // scale, h // scale), Image.Resampling.BICUBIC)
    return lr


class RealSRPairs(torch.utils.data.Dataset):
    """(low-res, high-res) float pairs in [0, 1]: `samples_per_image` random `crop` px crops of
    each photo per epoch, flipped at random, the input degraded by `degrade_real` to crop/scale.

    Photos are decoded once and kept in memory (a few hundred photos: a few hundred MB).
    Call `set_epoch(e)` before each epoch for fresh crops.
    """

    def __init__(self, files: Sequence[Path], crop: int = 256, scale: int = 4,
                 samples_per_image: int = 8, seed: int = 0) -> None:
        if crop % scale:
            raise ValueError(f"crop {crop} must be a multiple of scale {scale}")
        if not files:
            raise ValueError("no training images")
        self.images = [open_pil_image(f, "RGB") for f in files]
        self.crop, self.scale, self.seed, self.epoch = crop, scale, seed, 0
        self.samples_per_image = samples_per_image

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images) * self.samples_per_image

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        rng = random.Random(f"{self.seed}:{self.epoch}:{i}")
        img = self.images[i % len(self.images)]
        c = self.crop
        if min(img.size) < c:  # small photos are enlarged to cover the crop
            k = c / min(img.size)
            img = img.resize((max(c, round(img.width * k)), max(c, round(img.height * k))),
                             Image.Resampling.BICUBIC)
        x0, y0 = rng.randint(0, img.width - c), rng.randint(0, img.height - c)
        hr = img.crop((x0, y0, x0 + c, y0 + c))
        if rng.random() < 0.5:
            hr = hr.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        lr = degrade_real(hr, self.scale, rng)
        return pil_to_tensor(lr), pil_to_tensor(hr)        # (3, c/s, c/s), (3, c, c)
