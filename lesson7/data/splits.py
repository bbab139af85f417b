"""Splits: which items are for training and which for validation (indices into the item list).

``split_by_rand_pct`` draws with ``numpy.random.RandomState(seed).permutation`` exactly as fastai
v1 does after ``np.random.seed(seed)``, so the same item order gives fastai's split.

Refs: fastai v1 ``ItemList.split_by_folder`` / ``split_by_rand_pct`` / ``split_none``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["Split", "split_by_folder", "split_by_rand_pct", "split_none"]

Split = tuple[list[int], list[int]]
"""(train indices, valid indices), each sorted."""


def _first_folder(path: str, prefix: str) -> str | None:
    """First folder of ``path`` below the root ``prefix`` (None if directly in it or outside)."""
    if not path.startswith(prefix):
        return None
    head, sep, _ = path[len(prefix):].partition(os.sep)
    return head if sep else None


def split_by_folder(items: Sequence[Path], root: Path, train: str = "train",
                    valid: str = "valid") -> Split:
    """Items whose first folder under ``root`` is ``train`` / ``valid``; others are left out."""
    prefix = os.path.join(str(root), "")
    firsts = [_first_folder(str(p), prefix) for p in items]
    train_idx = [i for i, f in enumerate(firsts) if f == train]
    valid_idx = [i for i, f in enumerate(firsts) if f == valid]
    for name, idx, arg in ((train, train_idx, "train"), (valid, valid_idx, "valid")):
        if not idx:
            found = sorted({f for f in firsts if f is not None})
            raise ValueError(f"split_by_folder({arg}={name!r}): no images under "
                             f"{str(Path(root) / name)!r}; folders with images: {found}")
    return train_idx, valid_idx


def split_by_rand_pct(n_items: int, valid_pct: float = 0.2, seed: int | None = None) -> Split:
    """A random ``valid_pct`` of the items for validation (``int(valid_pct * n)`` of them)."""
    if not 0.0 <= valid_pct < 1.0:
        raise ValueError(f"valid_pct must be in [0, 1), got {valid_pct}")
    perm = np.random.RandomState(seed).permutation(n_items)
    cut = int(valid_pct * n_items)
    return sorted(perm[cut:].tolist()), sorted(perm[:cut].tolist())


def split_none(n_items: int) -> Split:
    """Everything is training data; the validation set is empty."""
    return list(range(n_items)), []
