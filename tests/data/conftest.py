"""Fixtures for lesson7.data tests: tiny image trees written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_png(path: Path, arr: np.ndarray) -> Path:
    """Save a uint8 (H, W) or (H, W, 3) array as a PNG, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return path


def make_tree(root: Path, splits: dict[str, dict[str, int]], size: tuple[int, int] = (8, 8),
              mode: str = "L", seed: int = 0) -> Path:
    """root/<split>/<class>/<i>.png with random pixels; splits = {split: {class: count}}."""
    rng = np.random.default_rng(seed)
    shape = size if mode == "L" else (*size, 3)
    for split, classes in splits.items():
        for cls, n in classes.items():
            for i in range(n):
                folder = root / split / cls if split else root / cls
                write_png(folder / f"{i}.png", rng.integers(0, 256, shape))
    return root


@pytest.fixture
def mnist_like(tmp_path: Path) -> Path:
    """A tiny MNIST-shaped tree: training/{0,1,2} x 6 and testing/{0,1,2} x 2, 8x8 greyscale."""
    return make_tree(tmp_path / "mnist_png",
                     {"training": {"0": 6, "1": 6, "2": 6}, "testing": {"0": 2, "1": 2, "2": 2}})


@pytest.fixture
def tree():
    """The ``make_tree`` helper, for tests that need their own layout."""
    return make_tree


@pytest.fixture
def png():
    """The ``write_png`` helper."""
    return write_png
