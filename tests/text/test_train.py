"""`train_numbers`: the lesson's losses and metrics, and what each recipe trains with, recorded
by a callback passed through `cbs` (no patching)."""

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lesson7.configs.numbers import NumbersConfig
from lesson7.text.train import RECIPES, acc4, cross_entropy_flat, loss4, train_numbers
from lesson7.train import Callback

pytestmark = pytest.mark.usefixtures("one_thread")


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


class RecordHypers(Callback):
    """Per fit: lr, momentum (Adam beta1) and weight decay at each training batch, and the
    shape of the first batch."""

    order = 11  # after the ParamScheduler (10) wrote them

    def __init__(self) -> None:
        self.fits: list[dict] = []

    def before_fit(self, learn) -> None:
        self.fits.append({"lrs": [], "moms": [], "wd": None, "xb": None})

    def before_batch(self, learn) -> None:
        if learn.training:
            fit, g = self.fits[-1], learn.opt.param_groups[-1]
            fit["lrs"].append(g["lr"])
            fit["moms"].append(g["betas"][0])
            fit["wd"] = max(g["weight_decay"] for g in learn.opt.param_groups)
            fit["xb"] = fit["xb"] or tuple(learn.xb.shape)


def _train(tmp_path: Path, numbers_dir: Path, **kw) -> tuple[dict, dict]:
    record = RecordHypers()
    cfg = NumbersConfig(**{"epochs": 1, "bs": 256, "device": "cpu", "data_dir": numbers_dir,
                           "out": tmp_path / "run", **kw})
    metrics = train_numbers(cfg, printer=None, cbs=[record])
    assert len(record.fits) == 1
    return metrics, record.fits[0]


def test_lstm_trains_with_textlearner_momentums_and_wd(tmp_path: Path, numbers_dir: Path) -> None:
    """fastbook's LMModel7 ran under fastai v2's TextLearner: one-cycle momentums (0.8, 0.7, 0.8)
    and wd 0.1; with the default (0.95, 0.85, 0.95) it ends ~0.04 lower (benchmarks/)."""
    metrics, fit = _train(tmp_path, numbers_dir, model="lstm", split="fastbook")
    assert fit["moms"][0] == pytest.approx(0.8) and min(fit["moms"]) >= 0.7 - 1e-9
    assert fit["wd"] == pytest.approx(0.1)
    assert fit["lrs"][0] == pytest.approx(1e-2 / 25)  # one-cycle from lr_max / 25
    assert fit["xb"][1] == 16  # fastbook's sequence length
    assert metrics["settings"]["split"] == "fastbook"


def test_gru_trains_with_fastais_default_momentums(tmp_path: Path, numbers_dir: Path) -> None:
    metrics, fit = _train(tmp_path, numbers_dir, model="5")
    assert fit["moms"][0] == pytest.approx(0.95) and fit["lrs"][0] == pytest.approx(1e-2 / 25)
    assert fit["xb"] == (256, 20)
    assert 0.2 < metrics["final"]["accuracy"] <= 1.0  # one GRU epoch beats chance (1/38) by far


def test_model1_is_scored_on_the_last_token(tmp_path: Path, numbers_dir: Path) -> None:
    metrics, fit = _train(tmp_path, numbers_dir, model="1", lr=3e-3)
    assert fit["xb"][1] == 3 and fit["lrs"][0] == pytest.approx(3e-3 / 25)  # --lr overrides
    assert metrics["settings"]["metric"] == "acc4" and "acc4" in metrics["history"][0]
    assert metrics["reference_accuracy"] == RECIPES["1"].reference_acc



@pytest.mark.parametrize("model, n_words", [("1", 3), ("5", 20)])
def test_sample_predictions_read_as_text(tmp_path: Path, numbers_dir: Path, model, n_words) -> None:
    metrics, _ = _train(tmp_path, numbers_dir, model=model)
    assert len(metrics["samples"]) == 5
    for line in metrics["samples"]:
        m = re.fullmatch(r'(.+) -> next: "(.+)", predicted: "(.+)" \((right|wrong)\)', line)
        assert m is not None, line
        words, truth, guess, mark = m.groups()
        assert len(words.split(" ")) == n_words  # the bptt window the model read
        assert (mark == "right") == (truth == guess)
