"""The WGAN's data (`lesson7.wgan.data`): MNIST IDX files or an image folder, in memory as uint8,
and shuffled [-1, 1] batches."""

import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.wgan.data import ImageBatches, load_images, to_gan_range


def write_idx(folder, n=96, seed=0):
    """MNIST-style IDX files where class c is a bright bar at rows 2c..2c+4."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, c in enumerate(labels):
        images[i, 2 * c:2 * c + 5, 4:24] = 255
    folder.mkdir(parents=True)
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">iiii", 0x803, n, 28, 28) + images.tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">ii", 0x801, n) + labels.tobytes())
    return images, labels


def test_idx_images_keep_their_labels_and_are_resized(tmp_path):
    images, labels = write_idx(tmp_path / "mnist" / "idx", n=10)
    x, y = load_images(tmp_path / "mnist", 28, 1)            # found below the folder given
    assert x.dtype == torch.uint8 and x.shape == (10, 1, 28, 28)
    assert torch.equal(x[:, 0], torch.from_numpy(images)) and y.tolist() == labels.tolist()
    x32, _ = load_images(tmp_path / "mnist", 32, 3, limit=4)
    assert x32.shape == (4, 3, 32, 32)
    assert torch.equal(x32[:, 0], x32[:, 2])                  # grey copied into RGB


def test_an_image_folder_is_resized_and_centre_cropped(tmp_path):
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    wide = np.zeros((16, 32, 3), np.uint8)
    wide[:, 8:24] = 255                                       # white centre, black sides
    Image.fromarray(wide).save(tmp_path / "imgs" / "sub" / "wide.png")
    x, y = load_images(tmp_path / "imgs", 8, 3)
    assert y is None and x.shape == (1, 3, 8, 8)
    assert x[..., 1:-1].min() == 255 and x.min() > 200       # the centre, not a squash
    grey, _ = load_images(tmp_path / "imgs", 8, 1)
    assert grey.shape == (1, 1, 8, 8)


def test_a_broken_idx_file_is_named(tmp_path):
    (tmp_path / "idx").mkdir()
    with gzip.open(tmp_path / "idx" / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"not an idx file")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        load_images(tmp_path / "idx", 28, 1)


def test_batches_cover_each_image_once_per_epoch_in_gan_range():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2) * 25
    batches = ImageBatches(images, bs=4, seed=3)
    assert len(batches) == 2                                  # the partial batch is dropped
    epoch0 = torch.cat(list(batches))
    assert epoch0.shape == (8, 1, 2, 2) and epoch0.min() >= -1 and epoch0.max() <= 1
    assert len(set(epoch0[:, 0, 0, 0].tolist())) == 8         # no image twice
    assert torch.equal(torch.cat(list(batches)), epoch0)      # same epoch, same order
    batches.set_epoch(1)
    assert not torch.equal(torch.cat(list(batches)), epoch0)
    assert to_gan_range(torch.tensor([0, 255], dtype=torch.uint8)).tolist() == [-1.0, 1.0]


def test_a_batch_larger_than_the_data_names_the_flag():
    with pytest.raises(ValueError, match="--bs 8"):
        ImageBatches(torch.zeros(5, 1, 2, 2, dtype=torch.uint8), bs=8)
