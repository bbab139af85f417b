"""`lesson7 demo` runs offline from packaged data and writes a summary."""

import json

import pytest
import torch

from lesson7.cli import main
from lesson7.demo import mnist_sample_path


def test_packaged_mnist_sample_exists_and_is_small():
    p = mnist_sample_path()
    assert p.exists() and 100_000 < p.stat().st_size < 1_000_000


@pytest.mark.parametrize("flag, value", [
    ("--device", "potato"), ("--only", "mnist potato"), ("--seed", "nan"),
])
def test_bad_flag_values_exit_2_naming_the_flag(tmp_path, flag, value, capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", flag, *value.split(), "--out", str(tmp_path / "demo")])
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("lesson7 demo: error: ") and flag in last
    assert not (tmp_path / "demo").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_fails_before_any_stage(tmp_path, capsys):
    assert main(["demo", "--device", "cuda", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lesson7 demo: error: ") and "--device cuda" in err
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
def test_demo_mnist_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    rc = main(["demo", "--only", "mnist", "--out", str(tmp_path / "demo"), "--device", "cpu"])
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert rc == 0 and summary["mnist"]["accuracy"] > 0.85
    assert (tmp_path / "demo" / "mnist" / "metrics.json").exists()


@pytest.mark.slow
def test_demo_restore_stage_reports_model_and_bicubic(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    rc = main(["demo", "--only", "restore", "--out", str(tmp_path / "demo"), "--device", "cpu"])
    s = json.loads((tmp_path / "demo" / "summary.json").read_text())["restore"]
    assert rc == 0 and s["n_test_images"] == 8
    # identity init: a short run starts at the input's quality and must not fall far below it
    assert s["psnr_y_model"] > s["psnr_y_bicubic"] - 0.5
    assert not (tmp_path / "demo" / "restore" / "state").exists()  # issue 11: no state left
