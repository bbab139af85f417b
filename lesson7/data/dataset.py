"""``ImageDataset``: labelled image files -> (x, y) uint8 tensors brought to ``size``.

Scope: decoding one item (and its image target, with the same crop) for the loaders in
``lesson7.data.loaders``; undecodable files are skipped with a warning naming them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from lesson7.data.augment import Size, crop_array, crop_batch
from lesson7.data.images import ImageDecodeError, read_image_array

__all__ = ["ImageDataset"]


class ImageDataset:
    """Labelled images of one split: ``ds[i] -> (x, y)``.

    x is float (C, H, W) in [0, 1], centre-cropped to ``size`` if one is set (no augmentation);
    y is an ``int`` class index or, for image targets, a float image like x. ``x_data`` /
    ``y_data`` hold the decoded uint8 stacks when the split is kept in memory.
    """

    def __init__(self, items: Sequence[Path], targets: Sequence[int] | Sequence[Path],
                 classes: list[str] | None, convert_mode: str, size: Size | None = None,
                 resize_method: str = "crop", allow_large: bool | None = None,
                 on_error: str = "skip"):
        if resize_method not in ("crop", "none"):
            raise ValueError(f"resize_method must be 'crop' or 'none', got {resize_method!r}")
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
        self.items, self.targets = list(items), list(targets)
        self.classes, self.convert_mode, self.size = classes, convert_mode, size
        self.resize_method, self.allow_large, self.on_error = resize_method, allow_large, on_error
        self.x_data: Tensor | None = None
        self.y_data: Tensor | None = None
        self.image_target = classes is None
        self._warned: set[int] = set()

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        kind = "image targets" if self.image_target else f"{len(self.classes or [])} classes"
        where = "in memory" if self.x_data is not None else "streamed"
        return f"ImageDataset({len(self)} items, {kind}, {self.convert_mode}, {where})"

    @property
    def cover(self) -> Size | None:
        """The size images are resized to cover at decode time (None: native resolution)."""
        return self.size if self.resize_method == "crop" else None

    @property
    def labels(self) -> Tensor:
        """Class indices as an int64 tensor (classification only)."""
        return torch.as_tensor(self.targets, dtype=torch.long)

    def keep(self, idx: Sequence[int]) -> None:
        """Keep only the items at positions ``idx`` (used to drop undecodable files)."""
        self.items = [self.items[i] for i in idx]
        self.targets = [self.targets[i] for i in idx]

    def _read(self, path: Path, row_pct: float | None, col_pct: float | None) -> Tensor:
        arr = read_image_array(path, self.convert_mode, self.cover, self.allow_large)
        if self.size is not None:
            arr = crop_array(arr, self.size, row_pct, col_pct)
        return torch.from_numpy(arr)

    def load_item(self, i: int, row_pct: float | None = None,
                  col_pct: float | None = None) -> tuple[Tensor, Tensor | int]:
        """Item ``i`` as uint8 (C, H, W) at ``size`` (crop at the given fractions, else centred).

        A file that fails to decode raises in ``on_error="raise"`` mode; in "skip" mode it is
        reported once and the next item is used instead (streaming cannot shrink a batch).
        """
        for k in range(len(self)):
            j = (i + k) % len(self)
            if self.x_data is not None:
                x = self.x_data[j]
                y = self.y_data[j] if self.y_data is not None else self.targets[j]
                return x, y
            try:
                x = self._read(self.items[j], row_pct, col_pct)
                y = self._read(self.targets[j], row_pct, col_pct) if self.image_target \
                    else self.targets[j]
                return x, y
            except ImageDecodeError as e:
                if self.on_error == "raise":
                    raise
                if j not in self._warned:
                    self._warned.add(j)
                    warnings.warn(f"skipping undecodable image: {e}", stacklevel=2)
        raise ValueError(f"no item of this dataset could be decoded (first: {self.items[0]})")

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor | int]:
        x, y = self.load_item(i)
        if self.x_data is not None and self.size is not None:
            x = crop_batch(x[None], self.size)[0]
            y = crop_batch(y[None], self.size)[0] if self.image_target else y
        x = x.float().div(255)
        return x, (y.float().div(255) if self.image_target else int(y))
