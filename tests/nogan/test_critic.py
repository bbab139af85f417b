import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lesson7.gan.nogan import FolderPairs, critic_learner, pretrain_critic, save_preds

torch.set_num_threads(1)


def _write_images(root, n, kind, size=16, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        if kind == "smooth":   # "real": smooth gradients
            base = np.linspace(0, 255, size)[None, :, None] * rng.uniform(0.3, 1.0)
            arr = np.broadcast_to(base, (size, size, 3))
        else:                  # "generated": noisy
            arr = rng.uniform(0, 255, (size, size, 3))
        Image.fromarray(arr.astype(np.uint8)).save(root / f"img{i:03d}.png")


def test_save_preds_streams_every_item_under_its_name(tmp_path):
    src = tmp_path / "images"
    _write_images(src / "sub", 5, "smooth")
    items = sorted(src.rglob("*.png"))
    invert = nn.Identity()
    n = save_preds(invert, items, src, tmp_path / "image_gen", bs=2, size=8,
                   denorm=lambda t: 1 - t, progress=False)
    assert n == 5
    out = sorted((tmp_path / "image_gen").rglob("*.png"))
    assert [p.relative_to(tmp_path / "image_gen") for p in out] == \
        [p.relative_to(src) for p in items]
    saved = np.asarray(Image.open(out[0]))
    assert saved.shape == (8, 8, 3)
    orig = np.asarray(Image.open(items[0]).resize((8, 8), Image.BILINEAR)).astype(int)
    assert np.abs((255 - saved.astype(int)) - orig).mean() < 10  # the prediction, not the input


def test_critic_pretraining_separates_an_easy_real_fake_split(tmp_path):
    torch.manual_seed(0)
    _write_images(tmp_path / "image_gen", 24, "noise", seed=1)
    _write_images(tmp_path / "images", 24, "smooth", seed=2)
    data = FolderPairs(tmp_path / "image_gen", tmp_path / "images", size=16, bs=8, valid_pct=0.25,
                       norm=lambda t: t * 2 - 1)
    learn = critic_learner(data, nf=8, n_blocks=1, path=tmp_path, device="cpu", progress=False)
    accs = pretrain_critic(learn, epochs=4, lr=3e-3)
    assert len(accs) == 4
    assert accs[-1] >= 0.9


def test_save_preds_resumes_and_keeps_the_aspect_ratio(tmp_path):
    src = tmp_path / "images"
    src.mkdir()
    wide = np.zeros((16, 32, 3), np.uint8)
    wide[:, 8:24] = 255                       # a white centre band, black on the far left/right
    Image.fromarray(wide).save(src / "wide.png")
    _write_images(src / "more", 3, "smooth")
    items = sorted(src.rglob("*.png"))
    dest = tmp_path / "image_gen"
    assert save_preds(nn.Identity(), items, src, dest, bs=2, size=16, progress=False) == 4
    out = np.asarray(Image.open(dest / "wide.png"))
    assert out.shape == (16, 16, 3) and out.min() == 255   # centre crop, not a squash
    (dest / "more" / "img001.png").unlink()                 # an interrupted run ...
    before = (dest / "wide.png").stat().st_mtime_ns
    assert save_preds(nn.Identity(), items, src, dest, bs=2, size=16, progress=False) == 1
    assert (dest / "more" / "img001.png").is_file()         # ... redoes only what is missing
    assert (dest / "wide.png").stat().st_mtime_ns == before
    assert save_preds(nn.Identity(), items, src, dest, size=16, progress=False,
                      overwrite=True) == 4


def test_folder_pairs_native_crops_keep_the_pixels(tmp_path):
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


def test_folder_pairs_split_keeps_both_versions_of_an_image_on_one_side(tmp_path):
    _write_images(tmp_path / "fake", 20, "noise", size=8, seed=1)
    _write_images(tmp_path / "real", 24, "noise", size=8, seed=2)  # 4 reals have no fake twin
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


def test_folder_pairs_train_batches_are_random_crops_and_flips(tmp_path):
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
