"""Colorization pairs made on the fly: a random crop of a colour photo and its grey version.

The input is DeOldify's: the crop through `GreyCrappifier` (PIL `convert('LA').convert('RGB')`),
so it needs no files of its own. Every sample is a fresh crop (random scale, position and
left-right flip); the randomness of sample i in epoch e is a function of (seed, e, i) alone,
so a run is repeatable whatever the number of loader workers. Validation samples are fixed
centre crops. Batches come ImageNet-normalised, input and target, as the feature loss expects.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from lesson7.data.crappify import GreyCrappifier
from lesson7.data.images import open_pil_image, pil_to_tensor
from lesson7.data.pair_loader import PairLoader

__all__ = ["GreyPairs", "PairLoader", "ColorData", "load_photos", "color_data"]

MAX_ZOOM = 2.0
"""Crops cover between 1/MAX_ZOOM and all of the photo's short side (then resized to `size`)."""


def load_photos(files: Sequence[Path], max_short: int) -> list[Image.Image]:
    """Decode the photos once (upright RGB), short side reduced to at most `max_short` px
    (Lanczos): crops never need more, and a few hundred photos then fit in memory."""
    photos = []
    for f in files:
        img = open_pil_image(f, "RGB")
        if min(img.size) > max_short:
            k = max_short / min(img.size)
            img = img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))),
                             Image.Resampling.LANCZOS)
        photos.append(img)
    return photos


class GreyPairs(Dataset):
    """(grey input, colour target) float pairs in [0, 1], `size` x `size` px.

    Training (`train=True`): `samples_per_image` random crops per photo per epoch: a square of
    side uniform in [short/MAX_ZOOM, short] (at least `size`), resized to `size`, flipped at
    random. Otherwise one centre square of the whole short side per photo. Call
    `set_epoch(e)` before each epoch for fresh crops.
    """

    def __init__(self, photos: Sequence[Image.Image], size: int, train: bool = True,
                 samples_per_image: int = 1, seed: int = 0) -> None:
        if not photos:
            raise ValueError("no photos to make colorization pairs from")
        self.photos, self.size, self.train, self.seed = list(photos), size, train, seed
        self.samples_per_image = samples_per_image if train else 1
        self.epoch = 0
        self.grey = GreyCrappifier()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.photos) * self.samples_per_image

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        rng = random.Random(f"{self.seed}:{self.epoch}:{i}")
        img = self.photos[i % len(self.photos)]
        short = min(img.size)
        side = round(rng.uniform(max(min(self.size, short), short / MAX_ZOOM), short)) \
            if self.train else short
        x0 = rng.randint(0, img.width - side) if self.train else (img.width - side) // 2
        y0 = rng.randint(0, img.height - side) if self.train else (img.height - side) // 2
        target = img.resize((self.size, self.size), Image.Resampling.BICUBIC,
                            box=(x0, y0, x0 + side, y0 + side))
        if self.train and rng.random() < 0.5:
            target = target.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        grey = self.grey(target, rng)
        return pil_to_tensor(grey), pil_to_tensor(target)     # (3, size, size) each


class ColorData:
    """What the Learner needs: `train_dl`, `valid_dl`, and `denorm` for pictures."""

    def __init__(self, train_dl: PairLoader, valid_dl: PairLoader) -> None:
        self.train_dl, self.valid_dl = train_dl, valid_dl
        self.mean, self.std = train_dl.mean, train_dl.std

    def denorm(self, x: Tensor) -> Tensor:
        return x * self.std.to(x.device) + self.mean.to(x.device)


def color_data(train_photos: Sequence[Image.Image], valid_photos: Sequence[Image.Image],
               size: int, bs: int, samples_per_image: int = 1, workers: int = 0,
               seed: int = 0) -> ColorData:
    """Training crops of `train_photos` and fixed centre crops of `valid_photos`, at `size`."""
    train = GreyPairs(train_photos, size, True, samples_per_image, seed)
    valid = GreyPairs(valid_photos, size, False, seed=seed + 1)
    if len(train) < bs:
        raise ValueError(f"{len(train)} training crops per epoch is less than one batch of "
                         f"--bs {bs}: add photos, raise --samples-per-image or lower --bs")
    return ColorData(PairLoader(train, bs, True, workers),
                     PairLoader(valid, bs, False, min(workers, 2)))
