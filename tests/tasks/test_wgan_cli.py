"""`lesson7 wgan` through `lesson7.cli.main`: a tiny run end to end, what it prints, and one-line
errors for bad values and unusable data (the library is tested in tests/wgan/)."""

import json

import numpy as np
import pytest
from PIL import Image

from lesson7.cli import main


def cli(*argv) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


def test_wgan_on_a_tiny_image_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(
            tmp_path / "imgs" / "a" / f"{i}.jpg")
    out = tmp_path / "run"
    assert cli("wgan", "--data", tmp_path / "imgs", "--size", 16, "--channels", 3, "--bs", 8,
               "--epochs", 2, "--n-features", 8, "--out", out, "--device", "cpu") == 0
    assert (out / "samples_epoch2.png").exists() and (out / "generator.safetensors").exists()
    *_, figures, report = capsys.readouterr().out.strip().splitlines()
    assert report == f"report: {out / 'report.html'}"
    printed = json.loads(figures)
    assert printed == {"fid": None, "fid_real_vs_real": None, "n_samples": 0,
                       "fid_untrained_generator": None}  # no classifier for RGB folders
    assert json.loads((out / "config.json").read_text())["bs"] == 8


@pytest.mark.parametrize(("data", "says"), [("none", "not found"), ("empty", "no image files")])
def test_unusable_data_is_a_one_line_error(tmp_path, capsys, data, says):
    (tmp_path / "empty").mkdir()
    assert cli("wgan", "--data", tmp_path / data, "--device", "cpu", "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("lesson7 wgan: error:") and says in err


@pytest.mark.parametrize(("flag", "value"), [("--channels", "2"), ("--size", "48"), ("--bs", "0"),
                                             ("--lr", "nan"), ("--clip", "-1"),
                                             ("--device", "potato")])
def test_bad_flags_are_named(tmp_path, capsys, flag, value):
    assert cli("wgan", "--data", tmp_path, flag, value) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "error:" in line]
    assert line.startswith("lesson7 wgan: error:") and flag in line
