"""`train_restorer`: which learning rates each phase trains with (recorded by a callback passed
through `cbs`, not by patching the Learner), what is frozen, and the saved model config."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import resnet18

from lesson7.configs.restore import RestoreTrainConfig
from lesson7.data.synthetic import make_toy_scenes
from lesson7.restore.restorer import Restorer, UnetConfig
from lesson7.restore.train import train_restorer, unet_config
from lesson7.train import Callback
from lesson7.train.learner import Learner

pytestmark = pytest.mark.usefixtures("one_thread")


class RecordFits(Callback):
    """Per fit: the LR of each layer group at the first training batch, and the number of
    trainable parameters. Runs after the ParamScheduler (order 10) has written the LRs."""

    order = 11

    def __init__(self) -> None:
        self.fits: list[dict] = []

    def before_fit(self, learn: Learner) -> None:
        trainable = sum(p.numel() for p in learn.model.parameters() if p.requires_grad)
        self.fits.append({"lrs": None, "trainable": trainable})

    def before_batch(self, learn: Learner) -> None:
        if learn.training and self.fits[-1]["lrs"] is None:
            by_group = {g["layer_group"]: g["lr"] for g in learn.opt.param_groups}
            self.fits[-1]["lrs"] = [by_group[i] for i in sorted(by_group)]


@pytest.fixture(scope="module")
def hr_dir(tmp_path_factory):
    return make_toy_scenes(tmp_path_factory.mktemp("hr"), n=4, size=40, seed=0)


def _cfg(hr_dir, out, **kw) -> RestoreTrainConfig:
    settings = dict(hr=[hr_dir], degrade="bicubic-x2", arch="resnet18", pretrained=False,
                    size=[32], bs=2, epochs=1, unfreeze_epochs=1, lr=1e-3, valid_pct=0.25,
                    workers=1, out=out, device="cpu", self_attention=False)
    return RestoreTrainConfig(**{**settings, **kw})


# One-cycle starts at lr_max / div (div = 25), so the first batch shows each group's lr_max / 25.
DIV = 25


def test_pretrained_encoder_frozen_then_discriminative(hr_dir, tmp_path):
    """The lesson's recipe: frozen slice(3·lr) (the head at 3·lr, the rest a tenth of it), then
    unfrozen slice(lr/1000, lr)."""
    enc = tmp_path / "enc.safetensors"
    save_file(resnet18().state_dict(), enc)  # a classifier's state dict, as a user would pass
    record = RecordFits()
    train_restorer(_cfg(hr_dir, tmp_path / "run", encoder_weights=enc), cbs=[record])
    frozen, unfrozen = record.fits
    assert [lr * DIV for lr in frozen["lrs"]] == pytest.approx([3e-4] * (len(frozen["lrs"]) - 1)
                                                              + [3e-3])
    first, *_, last = [lr * DIV for lr in unfrozen["lrs"]]
    assert first == pytest.approx(1e-6) and last == pytest.approx(1e-3)
    assert frozen["trainable"] < unfrozen["trainable"]  # the encoder was frozen, then trained
    assert unfrozen["trainable"] == sum(p.numel() for p in Restorer.load(tmp_path / "run")
                                        .model.parameters())


def test_scratch_encoder_trains_everything_at_the_full_lr(hr_dir, tmp_path):
    """Random encoder features have nothing to protect: no freezing, lr in every group."""
    record = RecordFits()
    train_restorer(_cfg(hr_dir, tmp_path / "run"), cbs=[record])
    assert len(record.fits) == 2
    for fit in record.fits:
        assert [lr * DIV for lr in fit["lrs"]] == pytest.approx([1e-3] * len(fit["lrs"]))
    assert record.fits[0]["trainable"] == record.fits[1]["trainable"]


def test_saved_config_rebuilds_the_trained_model(hr_dir, tmp_path):
    cfg = _cfg(hr_dir, tmp_path / "run", identity_init=True, epochs=0, blur=False)
    train_restorer(cfg)
    restorer = Restorer.load(tmp_path / "run")
    assert restorer.cfg == unet_config(cfg)
    assert restorer.cfg.y_range is None and restorer.cfg.scale == 2.0 and not restorer.cfg.blur
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert UnetConfig.from_meta(saved["unet"]) == restorer.cfg
    assert saved["config"] == "RestoreTrainConfig" and saved["identity_init"] is True


def test_start_epoch_continues_the_one_cycle_schedule():
    """What resume relies on: `fit_one_cycle(start_epoch=k)` runs the last epochs of the same
    schedule, not a new one."""

    class TwoBatches:
        train_dl = [(torch.zeros(2, 1), torch.zeros(2, 1))] * 2
        valid_dl = [(torch.zeros(2, 1), torch.zeros(2, 1))]

    def lrs(start_epoch):
        learn = Learner(torch.nn.Linear(1, 1), TwoBatches(), torch.nn.functional.mse_loss,
                        device="cpu", progress=False)
        learn.recorder.printer = None
        learn.fit_one_cycle(3, 1e-2, start_epoch=start_epoch)
        return learn.recorder.lrs

    full, resumed = lrs(0), lrs(2)
    assert len(full) == 6 and resumed == pytest.approx(full[4:])  # the last epoch's two batches
    with pytest.raises(ValueError, match="start_epoch"):
        lrs(3)


def test_build_data_seed_sets_the_batch_order(hr_dir, tmp_path):
    from lesson7.restore.train import build_data, make_pairs

    pairs = make_pairs(_cfg(hr_dir, tmp_path / "run"))

    def first_batch(seed, num_workers=0):
        data = build_data(pairs, 32, 2, True, valid_pct=0.25, workers=1, num_workers=num_workers,
                          seed=seed)
        return next(iter(data.train_dl))[1]

    assert torch.equal(first_batch(0), first_batch(0))
    assert any(not torch.equal(first_batch(0), first_batch(s)) for s in (1, 2, 3))
