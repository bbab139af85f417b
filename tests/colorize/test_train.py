"""`train_colorizer`: DeOldify's loss, on-the-fly grey pairs, a resumable run folder that
`Colorizer.load` reads, and a time budget that stops training but still saves the model."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from conftest import colour_photo

from lesson7.colorize.colorizer import Colorizer
from lesson7.colorize.data import GreyPairs
from lesson7.colorize.train import DEOLDIFY_LAYERS, DEOLDIFY_WEIGHTS, deoldify_loss, train_colorizer
from lesson7.configs.colorize import ColorizeTrainConfig
from lesson7.train.callbacks import Callback

pytestmark = pytest.mark.usefixtures("one_thread", "vgg16_trunk")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("colour")
    for i in range(10):
        colour_photo(40 + 4 * i, 36 + 3 * (i % 3), seed=i).save(d / f"{i}.png")
    return d


def _cfg(photos, out, **kw):
    base = dict(hr=[photos], size=[32], bs=4, epochs=1, unfreeze_epochs=1, encoder_depth=5,
                valid_pct=0.2, out=out, device="cpu", seed=0)
    return ColorizeTrainConfig(**{**base, **kw})


def test_grey_pairs_are_the_grey_of_their_target_and_repeatable():
    photos = [colour_photo(60, 40, seed=s) for s in range(3)]
    ds = GreyPairs(photos, 32, train=True, samples_per_image=2, seed=5)
    assert len(ds) == 6
    x, y = ds[4]
    assert x.shape == y.shape == (3, 32, 32)
    assert torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])  # grey
    luma = (y * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0)
    assert (x[0] - luma).abs().max() <= 1 / 255 + 1e-6           # PIL's rounding
    assert torch.equal(ds[4][1], y)                               # a function of (seed, epoch, i)
    ds.set_epoch(1)
    assert not torch.equal(ds[4][1], y)                           # fresh crops each epoch
    valid = GreyPairs(photos, 32, train=False)
    assert len(valid) == 3 and torch.equal(valid[0][1], valid[0][1])


def test_deoldify_loss_is_pixels_plus_three_vgg_layers():
    loss = deoldify_loss()
    assert tuple(loss.layers) == DEOLDIFY_LAYERS == ("relu3_3", "relu4_3", "relu5_3")
    assert tuple(loss.layer_weights) == DEOLDIFY_WEIGHTS == (20.0, 70.0, 10.0)
    assert loss.gram_weight == 0
    x = torch.randn(1, 3, 32, 32)
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-6)


def test_missing_vgg_trunk_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("LESSON7_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="vgg16_features.safetensors"):
        deoldify_loss()


class _KillAfterPhase(Callback):
    """Stops the process (as kill -9 would, after the epoch is saved) once phase `n` ends."""

    order = 100  # after SaveEveryEpoch (99)

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def after_epoch(self, learn) -> None:
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def test_train_resume_and_finished_run(photos, tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _cfg(photos, out)
    with pytest.raises(KeyboardInterrupt):
        train_colorizer(cfg, cbs=[_KillAfterPhase(1)])
    assert (out / "state" / "last.safetensors").is_file() and not (out / "model.safetensors").exists()
    metrics = train_colorizer(cfg)
    assert "resuming" in capsys.readouterr().out
    assert [p["epochs_run"] for p in metrics["phases"]] == [1, 1]
    assert len(metrics["history"]) == 2 and np.isfinite(metrics["final"]["valid_loss"])
    assert {"pixel", "feat_0", "feat_1", "feat_2"} <= set(metrics["final"])
    for name in ("model.safetensors", "model.json", "config.json", "metrics.json", "results.png"):
        assert (out / name).is_file(), name
    assert not (out / "state").exists()
    meta = json.loads((out / "model.json").read_text())
    assert meta["task"] == "colorize" and meta["encoder_depth"] == 5 and meta["degrade"] == "grey"
    c = Colorizer.load(out)
    assert c.colorize(colour_photo(50, 30), 32).size == (50, 30)
    assert "nothing to do" in (train_colorizer(cfg) and capsys.readouterr().out)
    with pytest.raises(ValueError, match="--lr"):
        train_colorizer(_cfg(photos, out, lr=5e-4))


def test_time_budget_stops_training_and_saves(photos, tmp_path, capsys):
    metrics = train_colorizer(_cfg(photos, tmp_path / "b", size=[32, 48], max_minutes=1e-4))
    assert [p["epochs_run"] for p in metrics["phases"]] == [0, 0, 0, 0]
    assert "time budget" in capsys.readouterr().out
    assert Colorizer.load(tmp_path / "b").cfg.encoder_depth == 5


def test_config_checks_name_the_flag(photos, tmp_path):
    with pytest.raises(ValueError, match="--hr"):
        ColorizeTrainConfig(hr=[tmp_path / "none"])
    with pytest.raises(ValueError, match="--size"):
        _cfg(photos, tmp_path, size=[16])
    with pytest.raises(ValueError, match="--epochs \\+ --unfreeze-epochs"):
        _cfg(photos, tmp_path, epochs=0, unfreeze_epochs=0)
    with pytest.raises(ValueError, match="--render-size"):
        _cfg(photos, tmp_path, render_size=8)
    random.seed(0)
