"""`lesson7 mnist` end to end on a tiny generated mnist_png tree, plus flag errors."""

import json

import pytest
import torch
from conftest import make_mnist_png, shared_path

from lesson7.cli import main


def test_mnist_cli_writes_the_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    tree = make_mnist_png(tmp_path / "data")
    out = tmp_path / "run"
    rc = main(["mnist", "--model", "resnet", "--epochs", "2", "--bs", "8", "--data", str(tree),
               "--out", str(out), "--device", "cpu"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["task"] == "mnist" and m["model"] == "resnet" and m["params"] == 41_132
    assert m["epochs"] == 2 and len(m["history"]) == 2
    assert set(m["final"]) == {"accuracy", "valid_loss", "train_loss"}
    assert 0 <= m["final"]["accuracy"] <= 1 and m["train_wall_s"] > 0
    assert m["device"].startswith("cpu") and m["torch_version"]
    for name in ("loss.png", "show_batch.png", "model.safetensors", "model.json", "config.json"):
        assert (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert "train_loss" in printed and "valid_loss" in printed and "accuracy" in printed
    assert printed.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    assert "lesson7-resnet-mnist.ipynb" in (out / "report.html").read_text()


@pytest.mark.parametrize("flag, value", [
    ("--model", "vgg"), ("--device", "potato"), ("--lr", "nan"), ("--lr", "-1"), ("--bs", "0"),
    ("--epochs", "0"), ("--seed", "1.5"),
])
def test_bad_flag_values_exit_2_naming_the_flag(tmp_path, flag, value, capsys):
    with pytest.raises(SystemExit) as e:
        main(["mnist", flag, value, "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # usage lines, then one error line
    assert last.startswith("lesson7 mnist: error: ") and flag in last
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_fails_before_reading_data(tmp_path, capsys):
    tree = make_mnist_png(tmp_path / "data")
    rc = main(["mnist", "--data", str(tree), "--device", "cuda", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("lesson7 mnist: error: ") and "--device cuda" in err
    assert not (tmp_path / "o").exists()


def test_not_an_mnist_folder_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["mnist", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert rc == 2 and "training/ and testing/" in capsys.readouterr().err
    assert not (tmp_path / "o" / "metrics.json").exists()


@pytest.mark.realdata
@pytest.mark.slow
def test_basic_cnn_one_epoch_on_full_mnist(tmp_path, monkeypatch):
    tgz = shared_path("datasets", "mnist", "mnist_png.tgz")
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    rc = main(["mnist", "--model", "basic", "--epochs", "1", "--data", str(tgz),
               "--out", str(tmp_path / "run"), "--device", "cpu"])
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert rc == 0 and m["params"] == 12_126
    assert m["final"]["accuracy"] > 0.95  # lesson: 0.9453 after its first of 3 epochs
