"""`lesson7 mnist` never replaces a finished model with one of other settings unless
--overwrite, and stops on NaN before saving (issue 11 item 3)."""

from __future__ import annotations

import pytest
from conftest import make_mnist_png

from lesson7.cli import main


@pytest.fixture
def argv(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    tree = make_mnist_png(tmp_path / "data", n_train=8, n_test=4)
    return ["mnist", "--model", "basic", "--epochs", "1", "--bs", "8", "--data", str(tree),
            "--out", str(tmp_path / "run"), "--device", "cpu"]


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_a_finished_model_is_kept_unless_overwrite(argv, tmp_path, capsys):
    model = tmp_path / "run" / "model.safetensors"
    assert main(argv) == 0
    before = model.read_bytes()
    capsys.readouterr()

    assert main(argv) == 0  # the same command: nothing to do
    assert "already holds the finished run" in capsys.readouterr().out

    assert main([*argv, "--lr", "0.01"]) == 2
    err = _one_error_line(capsys)
    assert err.startswith("lesson7 mnist: error: ") and "(--lr)" in err and "--overwrite" in err
    assert model.read_bytes() == before

    assert main([*argv, "--lr", "0.01", "--overwrite"]) == 0
    assert model.read_bytes() != before


def test_huge_lr_refused_naming_the_flag(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([*argv, "--lr", "1e30"])
    assert e.value.code == 2
    assert "--lr must be <= 10" in capsys.readouterr().err.strip().splitlines()[-1]
