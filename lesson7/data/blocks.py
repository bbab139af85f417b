"""The data block API: items -> split -> labels -> transforms -> DataBunch, as in the lesson.

```python
data = (ImageList.from_folder(path, convert_mode="L")
        .split_by_folder(train="training", valid="testing")
        .label_from_folder()
        .transform(*rand_pad_tfms)          # or .transform(train_tfms, valid_tfms, size, tfm_y)
        .databunch(bs=128)
        .normalize())
```

``databunch`` decides how images are loaded: a split is decoded once into ONE uint8 tensor when
all its images have the same shape (after resizing to cover ``size``) and the decoded bytes of
all splits stay under ``max_memory`` (1 GiB); otherwise images are streamed through DataLoader
workers. ``in_memory=True/False`` overrides the choice. Decoded stacks of large splits
(>= 10,000 files, or ``cache=True``) are cached as .npy under ``<data dir>/decoded/`` keyed by
the file list (paths, sizes, mtimes), so the second load of MNIST takes well under a second.

Undecodable files: ``on_error="skip"`` (default) drops them with ONE warning giving the count and
the first names; ``on_error="raise"`` raises an ``ImageDecodeError`` naming the file.

Refs: fastai v1 ``data_block.py`` (ItemList, ItemLists, LabelLists).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from lesson7.data.augment import Size, Transform
from lesson7.data.dataset import ImageDataset
from lesson7.data.datasets import default_data_dir
from lesson7.data.images import ImageDecodeError, decode_stack, open_image, read_image_array
from lesson7.data.items import get_image_files
from lesson7.data.labels import (
    encode_labels,
    is_image_target,
    label_from_folder,
    label_from_func,
    make_classes,
)
from lesson7.data.loaders import DataBunch, InMemoryLoader, StreamingLoader
from lesson7.data.splits import split_by_folder, split_by_rand_pct, split_none
from lesson7.data.transforms import BatchTransforms

__all__ = ["ImageList", "ItemLists", "LabelLists"]

CACHE_MIN_ITEMS = 10_000


class ImageList:
    """A list of image files (and how to open them): the start of the data block chain."""

    def __init__(self, items: Sequence[Path], path: Path | str, convert_mode: str = "RGB",
                 allow_large: bool | None = None):
        if convert_mode not in ("L", "RGB"):
            raise ValueError(f"convert_mode must be 'L' or 'RGB', got {convert_mode!r}")
        self.items = [p if isinstance(p, Path) else Path(p) for p in items]
        self.path = Path(path)
        self.convert_mode, self.allow_large = convert_mode, allow_large

    @classmethod
    def from_folder(cls, path: Path | str, convert_mode: str = "RGB",
                    extensions: Iterable[str] | None = None, include: Iterable[str] | None = None,
                    recurse: bool = True, allow_large: bool | None = None) -> ImageList:
        """All image files under ``path`` (see ``items.get_image_files``)."""
        return cls(get_image_files(path, extensions, include, recurse), path, convert_mode,
                   allow_large)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        return open_image(self.items[i], self.convert_mode, self.allow_large)

    def __repr__(self) -> str:
        return f"ImageList({len(self)} items from {str(self.path)!r}, {self.convert_mode})"

    def _subset(self, idx: Sequence[int]) -> ImageList:
        return ImageList([self.items[i] for i in idx], self.path, self.convert_mode,
                         self.allow_large)

    def _split(self, split: tuple[list[int], list[int]], roots: Sequence[Path]) -> ItemLists:
        return ItemLists(self.path, self._subset(split[0]), self._subset(split[1]), roots)

    def split_by_folder(self, train: str = "train", valid: str = "valid") -> ItemLists:
        """Training items under ``path/train``, validation items under ``path/valid``."""
        return self._split(split_by_folder(self.items, self.path, train, valid),
                           [self.path, self.path / train, self.path / valid])

    def split_by_rand_pct(self, valid_pct: float = 0.2, seed: int | None = None) -> ItemLists:
        """A random ``valid_pct`` for validation (fastai's draw for a given ``seed``)."""
        return self._split(split_by_rand_pct(len(self), valid_pct, seed), [self.path])

    def split_none(self) -> ItemLists:
        """All items for training, none for validation."""
        return self._split(split_none(len(self)), [self.path])


class ItemLists:
    """Training and validation ``ImageList``s, waiting for labels."""

    def __init__(self, path: Path, train: ImageList, valid: ImageList, roots: Sequence[Path]):
        self.path, self.train, self.valid, self._roots = path, train, valid, set(roots)

    def __repr__(self) -> str:
        return f"ItemLists(train={self.train!r}, valid={self.valid!r})"

    def label_from_folder(self) -> LabelLists:
        """Each image's class is the name of its folder."""
        roots = {str(r) for r in self._roots}
        flat = [p for p in self.train.items + self.valid.items
                if os.path.dirname(str(p)) in roots]
        if flat:
            raise ValueError(f"label_from_folder: no class sub-folders: {len(flat)} images lie "
                             f"directly in {str(flat[0].parent)!r} (e.g. {flat[0].name}); put "
                             "each class's images in a sub-folder named after the class, or use "
                             "label_from_func")
        return self._label(label_from_folder(self.train.items),
                           label_from_folder(self.valid.items))

    def label_from_func(self, func: Callable[[Path], Any]) -> LabelLists:
        """``func(path)`` gives a class name, or a ``Path`` to a target image (image-to-image)."""
        return self._label(label_from_func(self.train.items, func),
                           label_from_func(self.valid.items, func))

    def _label(self, train_y: list, valid_y: list) -> LabelLists:
        image = is_image_target(train_y) or (not train_y and is_image_target(valid_y))
        if train_y and valid_y and is_image_target(valid_y) != image:
            raise ValueError("label_from_func gave image targets for one split and class names "
                             "for the other")
        train_x, valid_x = list(self.train.items), list(self.valid.items)
        classes = None
        if not image:
            classes = make_classes(train_y)
            train_y, _ = encode_labels(train_y, classes, train_x, "train")
            valid_y, keep = encode_labels(valid_y, classes, valid_x, "valid")
            valid_x = [valid_x[i] for i in keep]
        return LabelLists(self.path, train_x, train_y, valid_x, valid_y, classes,
                          self.train.convert_mode, self.train.allow_large)


class LabelLists:
    """Labelled training and validation items; ``transform`` then ``databunch``."""

    def __init__(self, path: Path, train_x: list[Path], train_y: list, valid_x: list[Path],
                 valid_y: list, classes: list[str] | None, convert_mode: str,
                 allow_large: bool | None = None):
        self.path, self.classes, self.convert_mode = path, classes, convert_mode
        self.train_x, self.train_y, self.valid_x, self.valid_y = train_x, train_y, valid_x, valid_y
        self.allow_large = allow_large
        self.train_tfms: list[Transform] = []
        self.valid_tfms: list[Transform] = []
        self.size: Size | None = None
        self.tfm_y, self.resize_method, self.padding_mode = False, "crop", "reflection"

    def __repr__(self) -> str:
        kind = "image targets" if self.classes is None else f"{len(self.classes)} classes"
        return f"LabelLists(train={len(self.train_x)}, valid={len(self.valid_x)}, {kind})"

    def transform(self, train_tfms: Sequence[Transform] | None = None,
                  valid_tfms: Sequence[Transform] | None = None, size: Size | None = None,
                  tfm_y: bool = False, resize_method: str = "crop",
                  padding_mode: str = "reflection") -> LabelLists:
        """Set the training / validation batch transforms and the item ``size``.

        ``transform(get_transforms())`` and the lesson's ``transform(([*rand_pad(3, 28)], []))``
        (one (train, valid) pair) also work. ``tfm_y=True``
        applies the same random draws to image targets. ``resize_method``: "crop" resizes each
        image to cover ``size`` then crops; "none" crops at native resolution (reflection padding
        where smaller). ``padding_mode`` is the ``grid_sample`` padding for affine transforms.
        """
        if valid_tfms is None and isinstance(train_tfms, (tuple, list)) and len(train_tfms) == 2 \
                and all(isinstance(t, (list, tuple)) for t in train_tfms):
            train_tfms, valid_tfms = train_tfms
        if tfm_y and self.classes is not None:
            raise ValueError("tfm_y=True needs image targets (label_from_func returning Paths); "
                             "these labels are classes")
        if resize_method not in ("crop", "none"):
            raise ValueError(f"resize_method must be 'crop' or 'none', got {resize_method!r}")
        BatchTransforms(train_tfms or [], tfm_y, padding_mode)  # validate early
        self.train_tfms, self.valid_tfms = list(train_tfms or []), list(valid_tfms or [])
        self.size, self.tfm_y = size, tfm_y
        self.resize_method, self.padding_mode = resize_method, padding_mode
        return self

    def databunch(self, bs: int = 64, val_bs: int | None = None, num_workers: int = 0,
                  device: str | torch.device = "cpu", in_memory: bool | None = None,
                  max_memory: int = 1 << 30, on_error: str = "skip", seed: int = 0,
                  cache: bool | Path | None = None, decode_workers: int | None = None) -> DataBunch:
        """Build the loaders (see the module docstring for in-memory vs streaming and errors)."""
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        dss = [ImageDataset(x, y, self.classes, self.convert_mode, self.size, self.resize_method,
                            self.allow_large, on_error)
               for x, y in ((self.train_x, self.train_y), (self.valid_x, self.valid_y))]
        if not len(dss[0]):
            raise ValueError(f"the training split of {str(self.path)!r} is empty")
        memory = _load_in_memory(dss, in_memory, max_memory, on_error, cache, decode_workers)
        tfms = [BatchTransforms(t, self.tfm_y, self.padding_mode)
                for t in (self.train_tfms, self.valid_tfms)]
        if memory:
            train = InMemoryLoader(dss[0], bs, True, tfms[0], seed, device=device)
            valid = InMemoryLoader(dss[1], val_bs or bs, False, tfms[1], seed, device=device)
        else:
            train = StreamingLoader(dss[0], bs, True, tfms[0], seed, device=device,
                                    num_workers=num_workers)
            valid = StreamingLoader(dss[1], val_bs or bs, False, tfms[1], seed, device=device,
                                    num_workers=num_workers)
        return DataBunch(train, valid, self.path)


def _first_array(ds: ImageDataset, paths: Sequence[Path]):
    for p in paths[:20]:
        try:
            return read_image_array(p, ds.convert_mode, ds.cover, ds.allow_large)
        except ImageDecodeError:
            continue
    return None


def _load_in_memory(dss: list[ImageDataset], in_memory: bool | None, max_memory: int,
                    on_error: str, cache: bool | Path | None, workers: int | None) -> bool:
    """Decode every split into uint8 stacks if allowed and possible; True if done."""
    if in_memory is False:
        return False
    columns = [(ds, "x", ds.items) for ds in dss if len(ds)]
    columns += [(ds, "y", ds.targets) for ds in dss if len(ds) and ds.image_target]
    estimate = 0
    for ds, _, paths in columns:
        first = _first_array(ds, paths)
        estimate += 0 if first is None else first.nbytes * len(paths)
    if in_memory is None and estimate > max_memory:
        return False
    results = {}
    for ds, col, paths in columns:
        cache_dir = None
        if isinstance(cache, Path) or (cache is None and len(paths) >= CACHE_MIN_ITEMS) \
                or cache is True:
            cache_dir = cache if isinstance(cache, Path) else default_data_dir() / "decoded"
        res = decode_stack(paths, ds.convert_mode, ds.cover, ds.allow_large, workers, cache_dir)
        if res.mismatch is not None:
            bad, first = paths[res.mismatch], _first_array(ds, paths)
            msg = (f"images differ in shape: {str(bad)!r} decodes to a different size than "
                   f"{tuple(first.shape) if first is not None else '?'} (C, H, W)")
            if ds.size is None:
                raise ValueError(f"{msg}; pass size=... to .transform() to bring items to one "
                                 "size")
            if in_memory:
                raise ValueError(f"{msg} after resizing to cover size={ds.size}, so they cannot "
                                 "be one tensor; use in_memory=None/False to stream them")
            return False
        results[id(ds), col] = res
    for ds in dss:
        if not len(ds):
            ds.x_data = torch.zeros((0, 1 if ds.convert_mode == "L" else 3, 1, 1),
                                    dtype=torch.uint8)
            ds.y_data = ds.x_data if ds.image_target else None
            continue
        xs, ys = results[id(ds), "x"], results.get((id(ds), "y"))
        failed = {**xs.failed, **(ys.failed if ys is not None else {})}
        if failed and on_error == "raise":
            i = min(failed)
            path = ds.targets[i] if ys is not None and i in ys.failed else ds.items[i]
            raise ImageDecodeError(path, failed[i].split(": ", 1)[-1])
        ds.x_data = torch.from_numpy(_rows(xs, len(ds), failed))
        if ys is not None:
            ds.y_data = torch.from_numpy(_rows(ys, len(ds), failed))
        if failed:
            names = [str(ds.items[i]) for i in sorted(failed)[:3]]
            warnings.warn(f"skipped {len(failed)} undecodable images (of {len(ds)}), e.g. "
                          f"{names}; pass on_error='raise' to stop at the first", stacklevel=3)
            ds.keep([i for i in range(len(ds)) if i not in failed])
        if not len(ds) and ds is dss[0]:
            raise ValueError("no training image could be decoded")
    return True


def _rows(res, n: int, failed: dict[int, str]):
    """Rows of ``res.data`` for the items that decoded in every column."""
    ok = [i for i in range(n) if i not in res.failed]  # rows of res.data, in order
    if len(ok) == n - len(failed):
        return res.data
    keep = [r for r, i in enumerate(ok) if i not in failed]
    return res.data[keep]
