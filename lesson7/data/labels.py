"""Labels: a class name per item (classification) or a target image path (image-to-image).

``label_from_func(f)`` decides the task from what ``f`` returns: ``pathlib.Path`` objects make
image targets (restoration data: y is an image), anything else is turned into a class name with
``str``. Classes are the sorted distinct training labels; validation items whose label is not
among them are dropped with a warning (fastai v1 does the same).

Refs: fastai v1 ``label_from_folder`` / ``label_from_func`` / ``CategoryList``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any

__all__ = ["label_from_folder", "label_from_func", "is_image_target", "make_classes",
           "encode_labels"]


def label_from_folder(items: Sequence[Path]) -> list[str]:
    """The name of each item's parent folder (``training/5/0.png`` -> ``"5"``)."""
    return [os.path.basename(os.path.dirname(str(p))) for p in items]


def label_from_func(items: Sequence[Path], func: Callable[[Path], Any]) -> list[str] | list[Path]:
    """``func(item)`` for each item: all ``Path`` (image targets) or all class names."""
    raw = [func(Path(p)) for p in items]
    n_paths = sum(isinstance(r, PurePath) for r in raw)
    if 0 < n_paths < len(raw):
        first = next(i for i, r in enumerate(raw) if not isinstance(r, PurePath))
        raise ValueError(f"label_from_func: {func!r} returned Paths for some items and "
                         f"{type(raw[first]).__name__} for others (e.g. {items[first]} -> "
                         f"{raw[first]!r}); return only Paths (image targets) or only class names")
    if raw and n_paths == len(raw):
        targets = [Path(r) for r in raw]
        missing = [t for t in targets if not t.is_file()]
        if missing:
            raise ValueError(f"label_from_func: {len(missing)} target images do not exist, "
                             f"e.g. {[str(m) for m in missing[:3]]}")
        return targets
    for i, r in enumerate(raw):
        if r is None:
            raise ValueError(f"label_from_func: {func!r} returned None for {items[i]}")
    return [str(r) for r in raw]


def is_image_target(labels: Sequence[Any]) -> bool:
    """True when the labels are target image paths."""
    return bool(labels) and isinstance(labels[0], PurePath)


def make_classes(train_labels: Sequence[str]) -> list[str]:
    """The sorted distinct class names of the training labels."""
    classes = sorted(set(train_labels))
    if not classes:
        raise ValueError("no training labels: the training split is empty")
    return classes


def encode_labels(labels: Sequence[str], classes: Sequence[str], items: Sequence[Path],
                  split: str) -> tuple[list[int], list[int]]:
    """Class indices of ``labels`` and the positions kept (unknown classes: warned, dropped)."""
    lookup = {c: i for i, c in enumerate(classes)}
    keep = [i for i, lab in enumerate(labels) if lab in lookup]
    if len(keep) < len(labels):
        dropped = [i for i, lab in enumerate(labels) if lab not in lookup]
        warnings.warn(f"{split}: dropped {len(dropped)} items whose label is not a training "
                      f"class, e.g. {[f'{items[i]} ({labels[i]!r})' for i in dropped[:3]]}",
                      stacklevel=3)
    return [lookup[labels[i]] for i in keep], keep
