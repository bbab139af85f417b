"""`FolderPairs`: the critic's generated-vs-real data, split by image name, flips and crops."""

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.nogan.critic_data import FolderPairs


def _noise_images(root, n, size=8, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        arr = rng.uniform(0, 255, (size, size, 3)).astype(np.uint8)
        Image.fromarray(arr).save(root / f"img{i:03d}.png")


def test_labels_are_zero_for_generated_and_one_for_real(tmp_path):
    _noise_images(tmp_path / "fake", 3, seed=1)
    _noise_images(tmp_path / "real", 5, seed=2)
    data = FolderPairs(tmp_path / "fake", tmp_path / "real", size=8, bs=64, valid_pct=0.0,
                       flip=False)
    x, y = next(iter(data.train_dl))
    assert x.shape == (8, 3, 8, 8) and sorted(y.tolist()) == [0] * 3 + [1] * 5
    fake0 = np.asarray(Image.open(tmp_path / "fake" / "img000.png"))
    as_image = (x.permute(0, 2, 3, 1) * 255).round().byte().numpy()
    (i,) = [k for k in range(8) if np.array_equal(as_image[k], fake0)]
    assert y[i] == 0


def test_native_crops_keep_the_pixels(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("fake", "real"):
        (tmp_path / name).mkdir()
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
            tmp_path / name / "a.png")
    data = FolderPairs(tmp_path / "fake", tmp_path / "real", size=16, bs=2, valid_pct=0.0,
                       native=True, flip=False)
    x, y = next(iter(data.train_dl))
    real = x[y == 1][0]                                            # (3, 16, 16)
    arr = np.array(Image.open(tmp_path / "real" / "a.png"))[12:28, 16:32]  # the centre
    assert torch.allclose(real, torch.from_numpy(arr).permute(2, 0, 1).float() / 255)


def test_split_keeps_both_versions_of_an_image_on_one_side(tmp_path):
    _noise_images(tmp_path / "fake", 20, seed=1)
    _noise_images(tmp_path / "real", 24, seed=2)  # 4 reals have no fake twin
    data = FolderPairs(tmp_path / "fake", tmp_path / "real", size=8, bs=64, valid_pct=0.25,
                       flip=False)

    files = {np.asarray(Image.open(f)).tobytes(): f.stem  # each image is known by its pixels
             for f in tmp_path.glob("*/*.png")}

    def names(dl):  # the file names (stems) a loader's images came from
        out = set()
        for x, _ in dl:
            for img in x:
                arr = (img.permute(1, 2, 0) * 255).round().byte().numpy()
                out.add(files[arr.tobytes()])
        return out

    train, valid = names(data.train_dl), names(data.valid_dl)
    assert len(valid) == 6 and len(train) == 18        # 25 % of the 24 names, not of 44 files
    assert not train & valid


def test_train_batches_are_random_crops_and_flips(tmp_path):
    (tmp_path / "fake").mkdir()
    (tmp_path / "real").mkdir()
    ramp = np.broadcast_to(np.arange(16, dtype=np.uint8)[None, :, None] * 16, (16, 16, 3))
    for i in range(8):
        Image.fromarray(np.ascontiguousarray(ramp)).save(tmp_path / "real" / f"{i}.png")
        Image.fromarray(np.ascontiguousarray(ramp)).save(tmp_path / "fake" / f"{i}.png")
    data = FolderPairs(tmp_path / "fake", tmp_path / "real", size=16, bs=16, valid_pct=0.25,
                       crop=8)
    x, _ = next(iter(data.train_dl))
    assert x.shape == (12, 3, 8, 8)
    rows = x[:, 0, 0]                                   # (B, 8): a window of the ramp
    step = rows[:, 1:] - rows[:, :-1]
    increasing, decreasing = (step > 0).all(1), (step < 0).all(1)
    assert (increasing | decreasing).all()              # each crop is a contiguous window ...
    assert increasing.any() and decreasing.any()        # ... some of them mirrored
    assert len({round(r[0].item(), 4) for r in rows}) > 1  # at different offsets
    xv, _ = next(iter(data.valid_dl))
    assert xv.shape[-2:] == (16, 16)                    # validation sees whole images
    for bad in (0, 17):
        with pytest.raises(ValueError, match="crop"):
            FolderPairs(tmp_path / "fake", tmp_path / "real", size=16, crop=bad)
