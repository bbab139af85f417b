"""Real MNIST (the staged mnist_png.tgz): resolve, extract, count, load into memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from lesson7.data import ImageList, rand_pad, resolve_dataset

SHARED = Path(os.environ.get("LESSON7_SHARED",
                             Path(__file__).resolve().parents[2] / ".." / "shared"))
MNIST_TGZ = SHARED / "datasets" / "mnist" / "mnist_png.tgz"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not MNIST_TGZ.is_file(), reason=f"{MNIST_TGZ} not available"),
]

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # SOURCES.md
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory) -> Path:
    return resolve_dataset(MNIST_TGZ, data_dir=tmp_path_factory.mktemp("data"))


@pytest.mark.slow
def test_mnist_resolves_with_the_lesson_layout(mnist_dir):
    assert mnist_dir.name == "mnist_png"
    assert resolve_dataset(MNIST_TGZ, data_dir=mnist_dir.parent) == mnist_dir  # reused
    ll = (ImageList.from_folder(mnist_dir, convert_mode="L")
          .split_by_folder(train="training", valid="testing").label_from_folder())
    assert (len(ll.train_x), len(ll.valid_x)) == (60000, 10000)
    assert ll.classes == [str(d) for d in range(10)]
    assert torch.bincount(torch.tensor(ll.train_y)).tolist() == TRAIN_COUNTS
    assert torch.bincount(torch.tensor(ll.valid_y)).tolist() == TEST_COUNTS


@pytest.mark.slow
def test_mnist_databunch_in_memory(mnist_dir):
    data = (ImageList.from_folder(mnist_dir, convert_mode="L")
            .split_by_folder(train="training", valid="testing").label_from_folder()
            .transform(rand_pad(3, 28), []).databunch(bs=128, cache=mnist_dir.parent / "decoded")
            .normalize())
    assert data.train_ds.x_data.shape == (60000, 1, 28, 28)
    assert len(data.train_dl) == 468 and len(data.valid_dl) == 79
    xb, yb = data.one_batch()
    assert xb.shape == (128, 1, 28, 28) and yb.shape == (128,)
    mean, std = data.stats
    assert 0.10 < mean.item() < 0.16 and 0.28 < std.item() < 0.34  # MNIST: 0.1307 / 0.3081
