"""Seeded batches over tensors already in memory: the loader for data that fits in one tensor.

Scope: index batches of ``x`` (and ``y``) in an order fixed by ``(seed, epoch)``; an optional
``transform(xb, generator)`` augments each batch with draws from the same generator. Used where
the data is a tensor rather than a folder of images (the FID classifier, critic data, the
WGAN's image tensor, tests); image folders go through ``lesson7.data.loaders``.

Order: epoch ``e`` shuffles with ``torch.randperm(N, generator=Generator().manual_seed(seed + e))``
and the transform continues drawing from that generator, so a seeded run repeats exactly.
The epoch does not advance by itself: the Learner calls ``set_epoch`` before each training
epoch (validation loaders, with ``shuffle=False``, never need it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

__all__ = ["BatchTransform", "TensorBatches"]

BatchTransform = Callable[[Tensor, torch.Generator], Tensor]
"""``transform(xb, generator) -> xb``: augments a batch, drawing from ``generator``."""


class TensorBatches:
    """Batches ``(x[idx], y[idx])`` (or ``x[idx]`` when ``y`` is None) in a seeded order.

    Args:
        x: the inputs, indexed along dim 0.
        y: targets with the same first dimension, or None to yield ``x`` batches alone.
        bs: batch size.
        seed: the order of epoch ``e`` comes from seed ``seed + e``.
        shuffle: False keeps the stored order (validation).
        drop_last: drop a last batch smaller than ``bs``.
        transform: ``transform(xb, generator)`` applied to every ``x`` batch (pass it for the
            training loader only); ``y`` is never transformed.
    """

    def __init__(self, x: Tensor, y: Tensor | None = None, *, bs: int, seed: int = 0,
                 shuffle: bool = True, drop_last: bool = False,
                 transform: BatchTransform | None = None) -> None:
        if bs < 1:
            raise ValueError(f"bs must be >= 1, got {bs}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"x and y differ in length: {len(x)} vs {len(y)}")
        if drop_last and len(x) < bs:
            raise ValueError(f"bs {bs} is larger than the data ({len(x)} items) and drop_last "
                             f"leaves no batch")
        self.x, self.y, self.bs, self.seed = x, y, bs, seed
        self.shuffle, self.drop_last, self.transform = shuffle, drop_last, transform
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the order (and transform draws) of ``epoch`` for the next iteration."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.bs if self.drop_last else -(-n // self.bs)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor] | Tensor]:
        n = len(self.x)
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        for i in range(len(self)):
            idx = order[i * self.bs:(i + 1) * self.bs]
            xb = self.x[idx]
            if self.transform is not None:
                xb = self.transform(xb, g)
            yield xb if self.y is None else (xb, self.y[idx])
