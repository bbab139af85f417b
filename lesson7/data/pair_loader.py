"""A torch DataLoader over an on-the-fly pair dataset (input, target), both normalised with
ImageNet statistics, that tells the dataset the epoch so every epoch draws fresh crops and
degradations. Used by colorization training and the shipped restorer's training script."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from lesson7.data.stats import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["PairLoader"]


class PairLoader:
    """`ds` is a map-style dataset of (input, target) tensors in [0, 1] with a `seed` and a
    `set_epoch(epoch)` (e.g. `GreyPairs`, `RealSRPairs`)."""

    def __init__(self, ds: Any, bs: int, shuffle: bool, workers: int = 0) -> None:
        self.ds = ds
        self.dl = DataLoader(ds, batch_size=bs, shuffle=shuffle, drop_last=shuffle,
                             num_workers=workers, persistent_workers=False,
                             generator=torch.Generator().manual_seed(ds.seed))
        self.mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def set_epoch(self, epoch: int) -> None:
        self.ds.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dl)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for x, y in self.dl:
            yield (x - self.mean) / self.std, (y - self.mean) / self.std
