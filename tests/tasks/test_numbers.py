"""`lesson7 numbers` through `lesson7.cli.main`: one short epoch end to end, `--all`, and flag
errors (exit 2, one `error:` line naming the flag)."""

import json
from pathlib import Path

import pytest
import torch

from lesson7.cli import main
from lesson7.text.train import RECIPES

pytestmark = pytest.mark.usefixtures("one_thread")


def test_cli_one_epoch_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["numbers", "--model", "5", "--epochs", "1", "--bs", "128", "--device", "cpu",
                 "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert "train_loss" in printed and "valid_loss" in printed and "accuracy" in printed
    assert "(lesson: 0.807102)" in printed
    assert printed.strip().splitlines()[-1] == f"report: {tmp_path / 'run' / 'report.html'}"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "numbers" and metrics["model"] == "5"
    assert set(metrics["final"]) == {"accuracy", "valid_loss"}
    assert len(metrics["history"]) == 1 and metrics["train_wall_s"] > 0
    assert metrics["settings"]["lr"] == RECIPES["5"].lr and metrics["settings"]["bptt"] == 20
    assert (tmp_path / "run" / "model.safetensors").is_file()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["config"] == "NumbersConfig" and config["model"] == "5"
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["train.txt", "valid.txt"]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # usage lines, then one error line
    assert last.startswith("lesson7 numbers: error: ")
    return last


@pytest.mark.parametrize("flag, value", [
    ("--device", "potato"), ("--lr", "nan"), ("--lr", "-1"), ("--bs", "0"), ("--epochs", "0"),
    ("--bptt", "0"), ("--model", "7"), ("--split", "random"),
])
def test_bad_flag_values_exit_2_naming_the_flag(tmp_path: Path, flag: str, value: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["numbers", "--model", "5", "--data-dir", str(tmp_path / "data"),
            "--out", str(tmp_path / "run"), flag, value]
    assert flag in _usage_error(argv, capsys)
    assert not (tmp_path / "data").exists() and not (tmp_path / "run").exists()


def test_model0_takes_at_most_three_tokens(tmp_path: Path, capsys) -> None:
    err = _usage_error(["numbers", "--model", "0", "--bptt", "4", "--data-dir", str(tmp_path)],
                       capsys)
    assert "--bptt must be 1..3 for --model 0" in err


def test_a_model_or_all_is_needed(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--model NAME or --all" in _usage_error(["numbers"], capsys)
    assert "--model NAME or --all" in _usage_error(["numbers", "--model", "5", "--all"], capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_fails_before_writing_the_corpus(tmp_path: Path, capsys) -> None:
    rc = main(["numbers", "--model", "5", "--device", "cuda", "--data-dir", str(tmp_path / "data"),
               "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("lesson7 numbers: error: ") and "--device cuda" in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "run").exists()


@pytest.mark.slow  # seven short trainings: ~5-10 s on a shared 2-core CPU
def test_all_runs_every_model_and_prints_the_comparison(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["numbers", "--all", "--epochs", "1", "--bs", "256", "--device", "cpu",
                 "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "all")]) == 0
    table = capsys.readouterr().out.split("\n\n")[-1]
    for name, recipe in RECIPES.items():
        assert f"{recipe.reference_acc:.4f}" in table and f"\n{name} " in table
        assert (tmp_path / "all" / f"model_{name}" / "metrics.json").is_file()
    summary = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert summary["model"] == "all" and set(summary["final"]) == set(RECIPES)
    page = (tmp_path / "all" / "report.html").read_text()
    assert all(f"model_{name}" in page for name in RECIPES)  # one section per model
