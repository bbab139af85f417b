"""The degradation registry's `grey` entry (DeOldify's colorization input) works wherever the
others do: `make_degrader`, `lesson7 crappify --mode grey`, the pairs `restore train` makes,
`restore eval`'s inputs and the NoGAN chain's flags."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from lesson7.configs.crappify import CRAPPIFY_MODES, CrappifyConfig
from lesson7.configs.nogan import NoGANConfig
from lesson7.configs.restore import RestoreTrainConfig
from lesson7.data.crappify import GreyCrappifier, crappify_folder, make_crappifier
from lesson7.data.degradations import CRAPPIFIERS_NAMES, DEGRADATIONS, make_degrader


def _colour(w=40, h=30, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_grey_is_deoldifys_conversion_at_full_size():
    img = _colour()
    out = make_degrader("grey")(img, random.Random(0))
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == img.size
    arr = np.asarray(out, dtype=np.int16)
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    np.testing.assert_array_equal(arr[..., 0], np.asarray(img.convert("L")))  # BT.601 luma
    rgba = img.convert("RGBA")
    assert np.array_equal(np.asarray(GreyCrappifier()(rgba, random.Random(0))), arr)


def test_grey_is_registered_everywhere_as_a_lossless_crappifier():
    assert DEGRADATIONS["grey"].kind == "crappify" and DEGRADATIONS["grey"].lossless
    assert DEGRADATIONS["bicubic-x4"].lossless and not DEGRADATIONS["lesson"].lossless
    assert "grey" in CRAPPIFIERS_NAMES and "grey" in CRAPPIFY_MODES
    with pytest.raises(ValueError, match="--mode grey keeps the image size"):
        make_crappifier("grey", size=96)


def test_grey_folder_and_configs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _colour(seed=1).save(src / "a.png")
    report = crappify_folder(src, tmp_path / "dst", make_degrader("grey"), workers=1, seed=0,
                             progress=False)
    assert report.ok and len(report.written) == 1
    arr = np.asarray(Image.open(tmp_path / "dst" / "a.png").convert("RGB"))
    assert (arr.std(axis=-1) == 0).all()
    assert CrappifyConfig(src=src, dst=tmp_path / "d2", mode="grey").mode == "grey"
    assert RestoreTrainConfig(hr=[src], crappify="grey").degradation == "grey"
    assert NoGANConfig(hr=src, crappify="grey").crappify == "grey"


def test_restore_train_stores_grey_inputs_as_png(tmp_path):
    from lesson7.restore.train import make_pairs

    src = tmp_path / "hr"
    src.mkdir()
    for i in range(2):
        _colour(seed=i).save(src / f"{i}.jpg", quality=95)
    pairs = make_pairs(RestoreTrainConfig(hr=[src], crappify="grey", out=tmp_path / "run",
                                          workers=1))
    assert sorted(lr.suffix for lr, _ in pairs) == [".png", ".png"]
    for lr, hr in pairs:
        grey = np.asarray(Image.open(hr).convert("L"))
        np.testing.assert_array_equal(np.asarray(Image.open(lr).convert("L")), grey)


def test_restore_eval_grey_baseline_is_the_grey_image(tmp_path):
    from lesson7.restore.evaluate import degrade_for_eval

    hr = _colour(64, 48, seed=3)
    ref, inp, shave = degrade_for_eval(hr, "grey", 0, "a.png")
    assert shave == 0 and ref.size == inp.size == hr.size
    np.testing.assert_array_equal(np.asarray(inp)[..., 0], np.asarray(hr.convert("L")))


def test_crappify_command_mode_grey(tmp_path):
    from lesson7.cli import main

    src = tmp_path / "src"
    src.mkdir()
    _colour(seed=4).save(src / "a.png")
    assert main(["crappify", str(src), str(tmp_path / "dst"), "--mode", "grey", "--workers", "1",
                 "--no-progress"]) == 0
    out = Image.open(tmp_path / "dst" / "a.png")
    assert out.size == (40, 30) and np.asarray(out.convert("RGB")).std(axis=-1).max() == 0
