"""`lesson7 numbers`: losses, the RNN callbacks, and the CLI end to end (one short epoch)."""

import argparse
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lesson7.models.rnn import LSTMModel, Model5
from lesson7.tasks.numbers import (
    RECIPES,
    ResetState,
    RNNRegularizer,
    acc4,
    cross_entropy_flat,
    loss4,
    register,
    train_numbers,
)
from lesson7.text.lm_loader import LMDataBunch, LMLoader
from lesson7.text.vocab import Vocab
from lesson7.train import Callback, Learner


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny RNNs: one thread is fastest; on a busy 2-core box two threads can be 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lesson7")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def _tiny_data(n_tokens: int = 2000, bs: int = 8, bptt: int = 10, nv: int = 20) -> LMDataBunch:
    torch.manual_seed(0)
    stream = torch.arange(n_tokens) % (nv - 8) + 8  # a counting sequence over the word ids
    vocab = Vocab.build([str(i) for i in range(nv - 8)], min_freq=1)
    return LMDataBunch(LMLoader(stream, bs=bs, bptt=bptt), LMLoader(stream[:400], bs=bs, bptt=bptt),
                       vocab)


def test_last_token_loss_and_metric_read_only_the_last_position() -> None:
    pred = torch.randn(5, 38)
    target = torch.randint(0, 38, (5, 3))
    assert torch.allclose(loss4(pred, target), F.cross_entropy(pred, target[:, -1]))
    target[:, :-1] = -100  # garbage elsewhere must not matter
    target[:, -1] = pred.argmax(-1)
    assert acc4(pred, target).item() == 1.0


def test_flat_cross_entropy_averages_every_position() -> None:
    pred, target = torch.randn(2, 4, 7), torch.randint(0, 7, (2, 4))
    manual = torch.stack([F.cross_entropy(pred[b, t][None], target[b, t][None])
                          for b in range(2) for t in range(4)]).mean()
    torch.testing.assert_close(cross_entropy_flat(pred, target), manual)


class _StateAtEvents(Callback):
    """Records, after ResetState ran, whether the model's state was empty at each phase start."""

    order = 1

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def before_train(self, learn: Learner) -> None:
        self.seen.append(("train", learn.model.state is None))

    def before_validate(self, learn: Learner) -> None:
        self.seen.append(("valid", learn.model.state is None))


def test_reset_state_runs_before_training_and_validation(tmp_path: Path) -> None:
    data = _tiny_data()
    model = Model5(len(data.vocab), n_hidden=16)
    probe = _StateAtEvents()
    learn = Learner(model, data, cross_entropy_flat, cbs=[ResetState(), probe], path=tmp_path,
                    device="cpu", progress=False)
    learn.recorder.printer = None
    learn.fit(2, 1e-3)
    assert probe.seen == [("train", True), ("valid", True)] * 2
    assert model.state is not None  # and the state is carried within a phase


def test_rnn_regularizer_adds_ar_tar_to_the_trained_loss_only(tmp_path: Path) -> None:
    data = _tiny_data()
    model = LSTMModel(len(data.vocab), n_hidden=16, p=0.0)

    class Capture(Callback):
        order = 92  # after RNNRegularizer (91): sees the loss that is back-propagated

        def __init__(self) -> None:
            self.pairs: list[tuple[float, float]] = []

        def after_loss(self, learn: Learner) -> None:
            if learn.training:
                raw = learn.model.raw_out
                ar_tar = 2.0 * raw.pow(2).mean() + 1.0 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
                plain = cross_entropy_flat(learn.pred, learn.yb)
                self.pairs.append((learn.loss.item(), (plain + ar_tar).item()))

    capture = Capture()
    learn = Learner(model, data, cross_entropy_flat, cbs=[ResetState(), RNNRegularizer(2.0, 1.0),
                                                          capture], path=tmp_path, device="cpu",
                    progress=False)
    learn.recorder.printer = None
    learn.fit(1, 1e-3)
    assert capture.pairs and all(abs(a - b) < 1e-5 for a, b in capture.pairs)
    recorded = learn.recorder.batch_losses
    # the Recorder's train_loss is the plain cross-entropy, below the regularised loss
    assert all(r < a for r, (a, _) in zip(recorded, capture.pairs, strict=True))


def test_cli_one_epoch_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["numbers", "--model", "5", "--epochs", "1", "--bs", "128",
                                 "--device", "cpu", "--data-dir", str(tmp_path / "data"),
                                 "--out", str(tmp_path / "run")])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "train_loss" in printed and "valid_loss" in printed and "accuracy" in printed
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "numbers" and metrics["model"] == "5"
    assert set(metrics["final"]) == {"accuracy", "valid_loss"}
    assert len(metrics["history"]) == 1 and metrics["train_wall_s"] > 0
    assert 0.2 < metrics["final"]["accuracy"] <= 1.0  # one GRU epoch beats chance (1/38) by far
    assert metrics["settings"]["lr"] == RECIPES["5"].lr and metrics["settings"]["bptt"] == 20
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["train.txt", "valid.txt"]


def test_lstm_trains_with_textlearner_momentums_on_the_fastbook_split(tmp_path: Path) -> None:
    # fastbook's LMModel7 ran under fastai v2's TextLearner, whose one-cycle momentums are
    # (0.8, 0.7, 0.8); with the default (0.95, 0.85, 0.95) it ends ~0.04 lower (benchmarks/).
    assert RECIPES["lstm"].moms == (0.8, 0.7, 0.8) and RECIPES["5"].moms == (0.95, 0.85, 0.95)
    args = _parser().parse_args(["numbers", "--model", "lstm", "--epochs", "1", "--bs", "128",
                                 "--split", "fastbook", "--device", "cpu",
                                 "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run")])
    assert args.func(args) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["settings"]["split"] == "fastbook"
    assert metrics["settings"]["moms"] == [0.8, 0.7, 0.8]
    assert metrics["settings"]["bptt"] == 16


def test_cli_rejects_bad_flags_naming_them(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["numbers", "--model", "0", "--bptt", "5",
                                 "--data-dir", str(tmp_path)])
    with pytest.raises(ValueError, match="--bptt must be 1..3 for --model 0"):
        args.func(args)
    for flag, value in (("--epochs", "0"), ("--lr", "-1"), ("--bs", "0")):
        with pytest.raises(SystemExit):
            _parser().parse_args(["numbers", "--model", "5", flag, value])
        assert flag in capsys.readouterr().err
    with pytest.raises(ValueError, match="--epochs"):
        train_numbers("5", out=tmp_path, epochs=0, data_dir=tmp_path)


def test_cli_needs_a_model_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["numbers"])
    with pytest.raises(SystemExit):
        _parser().parse_args(["numbers", "--model", "7"])
    assert "--model" in capsys.readouterr().err


def test_model0_and_model1_train_with_the_last_token_metric(tmp_path: Path) -> None:
    metrics = train_numbers("1", out=tmp_path / "m1", epochs=1, bs=256, device="cpu",
                            data_dir=tmp_path / "data", printer=None)
    assert metrics["settings"]["metric"] == "acc4" and metrics["settings"]["bptt"] == 3
    assert "acc4" in metrics["history"][0]


@pytest.mark.slow  # seven short trainings: ~5-10 s on a shared 2-core CPU
def test_all_runs_every_model_and_prints_the_comparison(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["numbers", "--all", "--epochs", "1", "--bs", "256", "--device",
                                 "cpu", "--data-dir", str(tmp_path / "data"),
                                 "--out", str(tmp_path / "all")])
    assert args.func(args) == 0
    table = capsys.readouterr().out.split("\n\n")[-1]
    for name, recipe in RECIPES.items():
        assert f"{recipe.reference_acc:.4f}" in table and f"\n{name} " in table
        assert (tmp_path / "all" / f"model_{name}" / "metrics.json").is_file()
    summary = json.loads((tmp_path / "all" / "metrics.json").read_text())
    assert summary["model"] == "all" and set(summary["final"]) == set(RECIPES)


def test_lesson7_cli_reports_a_bad_flag_in_one_line(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from lesson7.cli import main

    rc = main(["numbers", "--model", "0", "--bptt", "4", "--data-dir", str(tmp_path)])
    assert rc == 2
    assert "--bptt must be 1..3 for --model 0" in capsys.readouterr().err
