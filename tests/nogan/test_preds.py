"""`save_preds` (NoGAN step 2): the generator's predictions under the inputs' names, streamed,
resumable, with the validation transform's geometry."""

import numpy as np
from PIL import Image
from torch import nn

from lesson7.nogan.preds import pred_path, save_preds


def _smooth_images(root, n, size=16, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        base = np.linspace(0, 255, size)[None, :, None] * rng.uniform(0.3, 1.0)
        arr = np.broadcast_to(base, (size, size, 3))
        Image.fromarray(arr.astype(np.uint8)).save(root / f"img{i:03d}.png")


def test_save_preds_streams_every_item_under_its_name(tmp_path):
    src = tmp_path / "images"
    _smooth_images(src / "sub", 5)
    items = sorted(src.rglob("*.png"))
    n = save_preds(nn.Identity(), items, src, tmp_path / "image_gen", bs=2, size=8,
                   denorm=lambda t: 1 - t, progress=False)  # an "inverting generator"
    assert n == 5
    out = sorted((tmp_path / "image_gen").rglob("*.png"))
    assert [p.relative_to(tmp_path / "image_gen") for p in out] == \
        [p.relative_to(src) for p in items]
    assert out == [pred_path(p, src, tmp_path / "image_gen") for p in items]
    saved = np.asarray(Image.open(out[0]))
    assert saved.shape == (8, 8, 3)
    orig = np.asarray(Image.open(items[0]).resize((8, 8), Image.BILINEAR)).astype(int)
    assert np.abs((255 - saved.astype(int)) - orig).mean() < 10  # the prediction, not the input


def test_save_preds_resumes_and_keeps_the_aspect_ratio(tmp_path):
    src = tmp_path / "images"
    src.mkdir()
    wide = np.zeros((16, 32, 3), np.uint8)
    wide[:, 8:24] = 255                       # a white centre band, black on the far left/right
    Image.fromarray(wide).save(src / "wide.jpg")
    _smooth_images(src / "more", 3)
    items = sorted(src.rglob("*.*"))
    dest = tmp_path / "image_gen"
    assert save_preds(nn.Identity(), items, src, dest, bs=2, size=16, progress=False) == 4
    out = np.asarray(Image.open(dest / "wide.png"))          # always PNG: lossless
    assert out.shape == (16, 16, 3) and out.min() >= 250     # centre crop, not a squash
    (dest / "more" / "img001.png").unlink()                  # an interrupted run ...
    before = (dest / "wide.png").stat().st_mtime_ns
    assert save_preds(nn.Identity(), items, src, dest, bs=2, size=16, progress=False) == 1
    assert (dest / "more" / "img001.png").is_file()          # ... redoes only what is missing
    assert (dest / "wide.png").stat().st_mtime_ns == before
    assert save_preds(nn.Identity(), items, src, dest, size=16, progress=False,
                      overwrite=True) == 4
