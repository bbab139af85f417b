"""Loaders: labelled images -> batches on a device; the ``DataBunch`` that holds them.

Two loaders with one interface (``__iter__`` of ``(xb, yb)``, ``__len__``, ``set_epoch``,
``one_batch``, ``sharded``, ``to``):
- ``InMemoryLoader``: the split is ONE uint8 tensor (N, C, H, W) (MNIST: 60k x 1 x 28 x 28 =
  47 MB); a batch is an index into it, cropped, converted and transformed as a whole on the
  tensor's device. No per-item Python work, no worker processes.
- ``StreamingLoader``: large or ragged image sets; ``torch.utils.data.DataLoader`` workers
  decode items and bring them to ``size`` (resize to cover ``size``, then a random crop for
  training or a centre crop for validation; reflection padding if still smaller), then the batch
  transforms run in the main process on the target device.

Order and randomness: epoch ``e`` uses the permutation ``randperm(N, seed + e)``, identical on
every rank; augmentation draws come from a generator seeded by (seed, e, rank). Iterating a
loader advances its epoch by one, so shuffling changes every epoch even when nobody calls
``set_epoch``; ``set_epoch(e)`` pins it (what distributed training needs).

Sharding (``shard(rank, world_size)``): training: the permutation is padded by wrapping to a
multiple of ``world_size`` and rank r takes ``perm[r::world_size]`` -- disjoint shares of equal
size, hence equal batch counts (a few items repeat when N is not divisible). Validation: the
items are cut into ``world_size`` contiguous, disjoint shares (sizes differ by at most one) and
each share is cut into the same number of batches, so every item is seen exactly once and all
ranks run the same number of batches (items are duplicated only when N < world_size).

Training batches drop the last partial batch (fastai v1: ``drop_last`` for training) unless the
(share of the) training set is smaller than one batch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from lesson7.data.augment import crop_batch
from lesson7.data.dataset import ImageDataset
from lesson7.data.stats import imagenet_stats  # re-exported: the loaders' usual `normalize` stats
from lesson7.data.transforms import BatchTransforms

__all__ = ["InMemoryLoader", "StreamingLoader", "DataBunch", "Stats", "imagenet_stats",
           "shard_batches"]

Stats = tuple[Sequence[float], Sequence[float]]
Batch = tuple[Tensor, Tensor]


def shard_batches(n_items: int, bs: int, shuffle: bool, drop_last: bool, seed: int, epoch: int,
                  rank: int = 0, world_size: int = 1) -> list[Tensor]:
    """The index batches rank ``rank`` of ``world_size`` sees in ``epoch`` (see module doc)."""
    if n_items == 0:
        return []
    if shuffle:
        order = torch.randperm(n_items, generator=torch.Generator().manual_seed(seed + epoch))
    else:
        order = torch.arange(n_items)
    if world_size > 1 and shuffle:
        total = math.ceil(n_items / world_size) * world_size
        order = order.repeat(math.ceil(total / n_items))[:total]
        share = order[rank::world_size]
    elif world_size > 1:
        if n_items < world_size:
            order = order.repeat(math.ceil(world_size / n_items))[:world_size]
        shares = torch.tensor_split(order, world_size)
        n_batches = math.ceil(max(len(s) for s in shares) / bs)
        return [b for b in torch.tensor_split(shares[rank], n_batches)]
    else:
        share = order
    batches = list(torch.split(share, bs))
    if drop_last and len(batches) > 1 and len(batches[-1]) < bs:
        batches.pop()
    return batches


class _Loader:
    """What both loaders share: batch order, epochs, sharding, normalisation, device."""

    def __init__(self, dataset: ImageDataset, bs: int, shuffle: bool, tfms: BatchTransforms,
                 seed: int = 0, drop_last: bool | None = None, device: str | torch.device = "cpu"):
        if bs < 1:
            raise ValueError(f"bs must be >= 1, got {bs}")
        self.dataset, self.bs, self.shuffle, self.tfms, self.seed = dataset, bs, shuffle, tfms, seed
        self.drop_last = shuffle if drop_last is None else drop_last
        self.device = torch.device(device)
        self.epoch, self.rank, self.world_size = 0, 0, 1
        self.stats: tuple[Tensor, Tensor] | None = None
        self.do_x, self.do_y = True, False
        self._len: int | None = None

    def set_epoch(self, epoch: int) -> None:
        """Use the order (and augmentation draws) of ``epoch`` for the next iteration."""
        self.epoch = int(epoch)

    def _batches(self, epoch: int) -> list[Tensor]:
        return shard_batches(len(self.dataset), self.bs, self.shuffle, self.drop_last, self.seed,
                             epoch, self.rank, self.world_size)

    def __len__(self) -> int:
        if self._len is None:  # the count does not depend on the epoch
            self._len = len(self._batches(0))
        return self._len

    def _gen(self, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) * 1009 + self.rank)

    def sharded(self, rank: int, world_size: int) -> _Loader:
        """A copy of this loader that yields only rank ``rank``'s share of every epoch."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, "
                             f"world_size={world_size}")
        out = copy.copy(self)
        out.rank, out.world_size, out._len = rank, world_size, None
        out._reset()
        return out

    def to(self, device: str | torch.device) -> _Loader:
        """Produce batches on ``device`` from now on."""
        self.device = torch.device(device)
        if self.stats is not None:
            self.stats = (self.stats[0].to(self.device), self.stats[1].to(self.device))
        self._reset()
        return self

    def set_normalization(self, stats: tuple[Tensor, Tensor] | None, do_x: bool = True,
                          do_y: bool = False) -> None:
        """Normalise x (and/or image y) with per-channel ``stats`` = (mean, std)."""
        self.stats = None if stats is None else (stats[0].to(self.device),
                                                 stats[1].to(self.device))
        self.do_x, self.do_y = do_x, do_y

    def _reset(self) -> None:
        pass

    def _finish(self, xb: Tensor, yb: Tensor, gen: torch.Generator,
                normalize: bool = True) -> Batch:
        """uint8 batch on device -> float in [0, 1] -> transforms -> normalisation."""
        xb = xb.to(self.device, non_blocking=True).float().div_(255)
        yb = yb.to(self.device, non_blocking=True)
        if yb.dim() == 4:
            yb = yb.float().div_(255)
        xb, yb = self.tfms(xb, yb, gen)
        if normalize and self.stats is not None:
            mean, std = (s[None, :, None, None] for s in self.stats)
            if self.do_x:
                xb = (xb - mean) / std
            if self.do_y and yb.dim() == 4:
                yb = (yb - mean) / std
        return xb, yb

    def _make_batch(self, idx: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def one_batch(self, normalize: bool = True) -> Batch:
        """The first batch of the current epoch (does not advance the epoch)."""
        batches = self._batches(self.epoch)
        if not batches:
            raise ValueError(f"this loader has no batches ({len(self.dataset)} items)")
        gen = self._gen(self.epoch)
        return self._finish(*self._make_batch(batches[0], gen), gen, normalize)

    def __iter__(self) -> Iterator[Batch]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        gen = self._gen(epoch)
        for idx in self._batches(epoch):
            yield self._finish(*self._make_batch(idx, gen), gen)


class InMemoryLoader(_Loader):
    """Batches by indexing one uint8 tensor held on the loader's device (see module doc)."""

    def __init__(self, dataset: ImageDataset, bs: int, shuffle: bool, tfms: BatchTransforms,
                 seed: int = 0, drop_last: bool | None = None, device: str | torch.device = "cpu"):
        if dataset.x_data is None:
            raise ValueError("InMemoryLoader needs a dataset whose images are decoded (x_data)")
        super().__init__(dataset, bs, shuffle, tfms, seed, drop_last, device)
        self._reset()

    def _reset(self) -> None:
        ds = self.dataset
        self.x = ds.x_data.to(self.device)
        self.y = (ds.y_data if ds.image_target else ds.labels).to(self.device)

    def _make_batch(self, idx: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        idx = idx.to(self.device)
        xb, yb = self.x.index_select(0, idx), self.y.index_select(0, idx)  # faster than x[idx]
        size = self.dataset.size
        if size is not None:
            pct = (torch.rand(len(idx), generator=gen, dtype=torch.float64),
                   torch.rand(len(idx), generator=gen, dtype=torch.float64)) \
                if self.tfms.random_size_crop else (None, None)
            xb = crop_batch(xb, size, *pct)
            yb = crop_batch(yb, size, *pct) if yb.dim() == 4 else yb
        return xb, yb


class _Keys:
    """Batch sampler for the streaming loader: per batch, (index, row_pct, col_pct) keys."""

    def __init__(self, loader: StreamingLoader):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[list[tuple[int, float | None, float | None]]]:
        epoch = self.loader._iter_epoch
        gen = torch.Generator().manual_seed(self.loader._gen(epoch).initial_seed() + 1)
        for idx in self.loader._batches(epoch):
            yield self.loader._keys(idx, gen)


class _KeyedItems(torch.utils.data.Dataset):
    """Map-style view that DataLoader workers call with a key from ``_Keys``."""

    def __init__(self, dataset: ImageDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, float | None, float | None]):
        return self.dataset.load_item(*key)


def _collate(items: list[tuple[Tensor, Tensor | int]]) -> tuple[Tensor, Tensor]:
    xs, ys = zip(*items, strict=True)
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"images in one batch differ in size {sorted(shapes)[:3]}; pass "
                         "size=... to .transform() so items are brought to one size")
    yb = torch.stack(ys) if isinstance(ys[0], Tensor) else torch.tensor(ys, dtype=torch.long)
    return torch.stack(xs), yb


class StreamingLoader(_Loader):
    """Batches decoded by ``DataLoader`` workers, then transformed on the device (module doc)."""

    def __init__(self, dataset: ImageDataset, bs: int, shuffle: bool, tfms: BatchTransforms,
                 seed: int = 0, drop_last: bool | None = None, device: str | torch.device = "cpu",
                 num_workers: int = 0):
        super().__init__(dataset, bs, shuffle, tfms, seed, drop_last, device)
        self.num_workers = num_workers
        self._iter_epoch = 0
        self._reset()

    def _reset(self) -> None:
        self._dl: DataLoader | None = None  # rebuilt lazily (sharding/device change it)

    def to(self, device: str | torch.device) -> StreamingLoader:
        """As `_Loader.to`; a move to the device it is already on keeps the DataLoader and its
        persistent worker processes (a new Learner on the same data starts no new workers)."""
        same, dl = torch.device(device) == self.device, self._dl
        super().to(device)
        if same:
            self._dl = dl
        return self

    def _keys(self, idx: Tensor, gen: torch.Generator):
        n = len(idx)
        if self.dataset.size is not None and self.tfms.random_size_crop:
            rows = torch.rand(n, generator=gen, dtype=torch.float64).tolist()
            cols = torch.rand(n, generator=gen, dtype=torch.float64).tolist()
        else:
            rows = cols = [None] * n
        return list(zip(idx.tolist(), rows, cols, strict=True))

    def _make_batch(self, idx: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        keys_gen = torch.Generator().manual_seed(gen.initial_seed() + 1)
        return _collate([self.dataset.load_item(*k) for k in self._keys(idx, keys_gen)])

    def __iter__(self) -> Iterator[Batch]:
        if self._dl is None:
            self._dl = DataLoader(_KeyedItems(self.dataset), batch_sampler=_Keys(self),
                                  num_workers=self.num_workers, collate_fn=_collate,
                                  pin_memory=self.device.type == "cuda",
                                  persistent_workers=self.num_workers > 0)
        epoch, self.epoch = self.epoch, self.epoch + 1
        self._iter_epoch = epoch
        gen = self._gen(epoch)
        for xb, yb in self._dl:
            yield self._finish(xb, yb, gen)


@dataclass
class DataBunch:
    """Training and validation loaders plus what a Learner and a notebook need around them."""

    train_dl: _Loader
    valid_dl: _Loader
    path: Path | None = None

    @property
    def train_ds(self) -> ImageDataset:
        return self.train_dl.dataset

    @property
    def valid_ds(self) -> ImageDataset:
        return self.valid_dl.dataset

    @property
    def classes(self) -> list[str] | None:
        """Class names (classification) or ``None`` (image targets)."""
        return self.train_ds.classes

    @property
    def c(self) -> int:
        """Number of classes, or the target's channel count for image targets (fastai)."""
        if self.classes is not None:
            return len(self.classes)
        return 1 if self.train_ds.convert_mode == "L" else 3

    @property
    def device(self) -> torch.device:
        return self.train_dl.device

    @property
    def stats(self) -> tuple[Tensor, Tensor] | None:
        """(mean, std) used by ``normalize``, or ``None``."""
        return self.train_dl.stats

    def __repr__(self) -> str:
        return (f"DataBunch(train={self.train_ds!r} / {len(self.train_dl)} batches, "
                f"valid={self.valid_ds!r} / {len(self.valid_dl)} batches, c={self.c})")

    def one_batch(self, split: str = "train", normalize: bool = True) -> Batch:
        """First (transformed, normalised) batch of ``split`` ("train" or "valid")."""
        return self._dl(split).one_batch(normalize)

    def _dl(self, split: str) -> _Loader:
        if split not in ("train", "valid"):
            raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
        return self.train_dl if split == "train" else self.valid_dl

    def normalize(self, stats: Stats | None = None, do_x: bool = True,
                  do_y: bool = False) -> DataBunch:
        """Normalise batches with per-channel (mean, std); ``None``: measured on one train batch."""
        if stats is None:
            xb, yb = self.train_dl.one_batch(normalize=False)
            ref = xb if do_x or yb.dim() != 4 else yb
            dims = (0, 2, 3)
            mean, std = ref.mean(dims), ref.std(dims).clamp_min(1e-6)
        else:
            mean, std = (torch.as_tensor(s, dtype=torch.float32).flatten() for s in stats)
        n_ch = self.train_ds.x_data.shape[1] if self.train_ds.x_data is not None else \
            (1 if self.train_ds.convert_mode == "L" else 3)
        if mean.numel() == 1 and n_ch > 1:
            mean, std = mean.repeat(n_ch), std.repeat(n_ch)
        if mean.shape != (n_ch,) or std.shape != (n_ch,):
            raise ValueError(f"stats must give {n_ch} means and stds, got {tuple(mean.shape)} "
                             f"and {tuple(std.shape)}")
        for dl in (self.train_dl, self.valid_dl):
            dl.set_normalization((mean.float(), std.float()), do_x, do_y)
        return self

    def denorm(self, x: Tensor) -> Tensor:
        """Undo ``normalize`` on an image batch (B, C, H, W) or image (C, H, W)."""
        if self.stats is None:
            return x
        mean, std = (s.to(x.device).view(-1, 1, 1) for s in self.stats)
        return x * std + mean

    def show_batch(self, rows: int = 3, path: Path | str | None = None, split: str = "train"):
        """Plot a batch (see ``show.show_batch``); saves a PNG to ``path`` if given."""
        from lesson7.data.show import show_batch
        return show_batch(self, rows=rows, path=path, split=split)

    def to(self, device: str | torch.device) -> DataBunch:
        """Move the in-memory data and produce batches on ``device``."""
        self.train_dl.to(device)
        self.valid_dl.to(device)
        return self

    def shard(self, rank: int, world_size: int) -> DataBunch:
        """Replace both loaders by rank ``rank``'s share (see module doc); returns ``self``."""
        self.train_dl = self.train_dl.sharded(rank, world_size)
        self.valid_dl = self.valid_dl.sharded(rank, world_size)
        return self
