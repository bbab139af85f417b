"""GAN fine-tuning from run folders (`lesson7.nogan.finetune`), starting from the tiny chain's
generator and critic runs: restore-format output, what weights_gen and critic_thresh do,
progressive resizing, resuming, and NaN stops (tiny, CPU)."""

import dataclasses
import math

import pytest
import torch
from PIL import Image
from torch import nn

from lesson7.configs.nogan import GANTrainConfig
from lesson7.losses import MSELossFlat
from lesson7.losses.gan import AdaptiveLoss
from lesson7.nogan.finetune import gan_finetune, load_critic, load_generator
from lesson7.restore.restorer import Restorer
from lesson7.train.callbacks import Callback, CancelFit
from lesson7.train.checkpoint import read_metadata


def _config(chain, out, **kw):
    _, root, _ = chain
    # critic_thresh 10: switch after every batch, so both nets train within a few batches
    kw = {"sizes": [32], "epochs": [2], "bs": 8, "critic_thresh": 10.0, "device": "cpu", **kw}
    return GANTrainConfig(generator=root / "generator", critic=root / "critic", out=out, **kw)


def _changed(a: nn.Module, b: nn.Module) -> bool:
    return any(not torch.equal(x, y) for x, y in
               zip(a.state_dict().values(), b.state_dict().values(), strict=True))


class Watch(Callback):
    """Records each training batch's input shape and mode, and the epochs run."""

    order = 50

    def __init__(self):
        self.shapes, self.modes, self.epochs = [], [], 0

    def before_batch(self, learn):
        if learn.training:
            self.shapes.append(tuple(learn.xb.shape))
            self.modes.append("gen" if learn.model.gen_mode else "critic")

    def after_epoch(self, learn):
        self.epochs += 1


class GenLosses(Callback):
    """Each generator batch's loss, with its pixel (MSE) and adversarial (BCE) parts recomputed."""

    order = -20  # after_loss before GANTrainer (-10), which may switch modes after the batch

    def __init__(self):
        self.rows = []

    @torch.no_grad()
    def after_loss(self, learn):
        if learn.training and learn.model.gen_mode:
            fake_pred = learn.model.critic(learn.pred)
            adv = AdaptiveLoss(nn.BCEWithLogitsLoss())(fake_pred, fake_pred.new_ones(len(fake_pred)))
            pixel = MSELossFlat()(learn.pred, learn.yb)
            self.rows.append((learn.loss.item(), pixel.item(), adv.item()))


class Boom(Exception):
    pass


class StopAfterFirstEpoch(Callback):
    order = 100  # after the epoch's checkpoint (99): like a kill between epochs

    def __init__(self, exc=Boom):
        self.exc = exc

    def after_epoch(self, learn):
        raise self.exc


def test_a_gan_run_is_a_restore_run_with_a_trained_generator_and_critic(chain, tmp_path,
                                                                       strict_json):
    _, root, _ = chain
    metrics = gan_finetune(_config(chain, tmp_path / "gan"), progress=False)
    assert metrics["complete"] and len(metrics["history"]) == 2
    assert strict_json(tmp_path / "gan" / "metrics.json")["complete"] is True
    assert all(math.isfinite(r["critic_loss"]) for r in metrics["history"])
    assert not (tmp_path / "gan" / "state").exists()

    after = Restorer.load(tmp_path / "gan")  # what `restore predict / eval` do
    before, _, _ = load_generator(root / "generator")
    assert _changed(before, after.model)
    meta = read_metadata(tmp_path / "gan" / "model.safetensors")
    assert meta["task"] == "restore" and meta["degrade"] == "lesson"
    assert meta["train_size"] == 32 and meta["gan_epochs"] == 2

    crit0, _ = load_critic(root / "critic")
    crit1, crit_meta = load_critic(tmp_path / "gan")  # ready for another critic/GAN cycle
    assert (crit_meta["nf"], crit_meta["n_blocks"]) == (16, 2)
    assert _changed(crit0, crit1)
    assert Image.open(tmp_path / "gan" / "results.png").size[0] > 0


@pytest.mark.parametrize("w", [0.5, 3.0])
def test_weights_gen_zero_adversarial_makes_the_gen_loss_the_pixel_loss(chain, tmp_path, w):
    losses = GenLosses()
    gan_finetune(_config(chain, tmp_path / "gan", epochs=[1], weights_gen=(0.0, w)),
                 progress=False, cbs=[losses])
    assert losses.rows                                       # the generator did train
    for loss, pixel, _ in losses.rows:
        assert loss == pytest.approx(w * pixel, rel=1e-5)


def test_weights_gen_zero_pixel_makes_the_gen_loss_adversarial(chain, tmp_path):
    losses = GenLosses()
    gan_finetune(_config(chain, tmp_path / "gan", epochs=[1], weights_gen=(2.0, 0.0)),
                 progress=False, cbs=[losses])
    assert losses.rows
    for loss, pixel, adv in losses.rows:
        assert loss == pytest.approx(2.0 * adv, rel=1e-5)
        assert pixel > 0                                     # it was there, and ignored


def test_a_critic_thresh_above_the_critics_loss_lets_the_generator_train(chain, tmp_path):
    _, root, _ = chain
    generator, _, _ = load_generator(root / "generator")
    watch = Watch()
    metrics = gan_finetune(_config(chain, tmp_path / "gan", epochs=[1], critic_thresh=10.0),
                           progress=False, cbs=[watch])
    assert watch.modes[:2] == ["critic", "gen"]              # the critic's first batch is enough
    assert metrics["history"][0]["gen_batches"] > 0
    assert _changed(generator, load_generator(tmp_path / "gan")[0])


def test_a_critic_thresh_below_the_critics_loss_keeps_the_generator_waiting(chain, tmp_path):
    _, root, _ = chain
    generator, _, _ = load_generator(root / "generator")
    watch = Watch()
    metrics = gan_finetune(_config(chain, tmp_path / "gan", epochs=[1], critic_thresh=1e-6),
                           progress=False, cbs=[watch])
    assert set(watch.modes) == {"critic"}
    assert metrics["history"][0]["gen_batches"] == 0
    assert not _changed(generator, load_generator(tmp_path / "gan")[0])


def test_progressive_resizing_changes_size_and_batch_size(chain, tmp_path):
    watch = Watch()
    cfg = _config(chain, tmp_path / "gan", sizes=[32, 48], epochs=[1], lrs=[1e-4, 5e-5])
    assert cfg.stages() == [(32, 1, 1e-4, 8), (48, 1, 5e-5, 4)]  # bs 8 * (32/48)^2 -> 4
    metrics = gan_finetune(cfg, progress=False, cbs=[watch])
    assert [r["size"] for r in metrics["history"]] == [32, 48]
    assert {s[-1] for s in watch.shapes} == {32, 48}
    assert max(s[0] for s in watch.shapes if s[-1] == 48) == 4
    assert read_metadata(tmp_path / "gan" / "model.safetensors")["train_size"] == 48


def test_a_finished_run_is_never_trained_over(chain, tmp_path, capsys):
    cfg = _config(chain, tmp_path / "gan", epochs=[1])
    first = gan_finetune(cfg, progress=False)
    weights = (tmp_path / "gan" / "model.safetensors").read_bytes()
    watch = Watch()
    again = gan_finetune(cfg, progress=False, cbs=[watch])      # the same command again
    assert watch.epochs == 0 and again == first
    assert "nothing to do" in capsys.readouterr().out
    other = dataclasses.replace(cfg, seed=cfg.seed + 1)
    with pytest.raises(ValueError, match=r"a finished GAN run with other settings \(.*seed"):
        gan_finetune(other, progress=False)
    assert (tmp_path / "gan" / "model.safetensors").read_bytes() == weights


@pytest.mark.parametrize("stop", [Boom, CancelFit], ids=["crash", "cancel"])
def test_an_interrupted_run_resumes_at_the_next_epoch_from_a_relative_out(
        chain, tmp_path, monkeypatch, strict_json, stop):
    monkeypatch.chdir(tmp_path)
    cfg = _config(chain, "runs/gan")                         # relative --out
    if stop is Boom:
        with pytest.raises(Boom):
            gan_finetune(cfg, progress=False, cbs=[StopAfterFirstEpoch(Boom)])
    else:
        assert gan_finetune(cfg, progress=False, cbs=[StopAfterFirstEpoch(CancelFit)]
                            )["complete"] is False
    run = tmp_path / "runs" / "gan"
    first = strict_json(run / "metrics.json")
    assert not first["complete"] and len(first["history"]) == 1
    assert (run / "state" / "progress.json").is_file()
    saved = Restorer.load(run).model.state_dict()

    class FirstWeights(Callback):
        def before_fit(self, learn):
            self.sd = {k: v.clone() for k, v in learn.generator.state_dict().items()}

    seen, watch = FirstWeights(), Watch()
    metrics = gan_finetune(_config(chain, "runs/gan"), progress=False, cbs=[seen, watch])
    assert watch.epochs == 1                                 # only the missing epoch
    assert len(metrics["history"]) == 2 and metrics["history"][0] == first["history"][0]
    assert all(torch.equal(seen.sd[k], v) for k, v in saved.items())  # it went on from there
    assert metrics["complete"] and not (run / "state").exists()
    assert not (run / "runs").exists()                       # never joined onto itself


def test_other_settings_in_an_unfinished_gan_run_are_refused(chain, tmp_path):
    with pytest.raises(Boom):
        gan_finetune(_config(chain, tmp_path / "gan"), progress=False,
                     cbs=[StopAfterFirstEpoch()])
    with pytest.raises(ValueError, match=r"other settings \(--lr, --weights-gen\)"):
        gan_finetune(_config(chain, tmp_path / "gan", lrs=[1e-3], weights_gen=(1.0, 10.0)),
                     progress=False)
    assert (tmp_path / "gan" / "state" / "progress.json").is_file()  # kept for the real rerun


def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(chain, tmp_path):
    class PoisonSecondEpoch(Callback):
        order = -20  # before GANTrainer's check

        def after_loss(self, learn):
            if learn.epoch == 1:
                learn.loss = learn.loss * float("nan")

    with pytest.raises(FloatingPointError, match="last good checkpoint"):
        gan_finetune(_config(chain, tmp_path / "gan"), progress=False, cbs=[PoisonSecondEpoch()])
    meta = read_metadata(tmp_path / "gan" / "model.safetensors")
    assert meta["gan_epochs"] == 1
    model = Restorer.load(tmp_path / "gan").model
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_load_critic_names_a_folder_without_a_critic(tmp_path):
    with pytest.raises(ValueError, match="--critic"):
        load_critic(tmp_path)


def test_a_generator_folder_without_a_run_is_named(chain, tmp_path):
    _, root, _ = chain
    cfg = GANTrainConfig(generator=tmp_path, critic=root / "critic", out=tmp_path / "gan",
                         device="cpu")
    with pytest.raises(ValueError, match=f"--generator {tmp_path}"):
        gan_finetune(cfg, progress=False)


def test_a_gan_run_with_the_encoder_critic_trains_and_saves_it_as_such(chain, tmp_path):
    """`gan critic --arch encoder` -> `gan train`: the GAN rebuilds the encoder critic from the
    checkpoint's arch, trains it, and saves it again with its arch."""
    from lesson7.configs.nogan import CriticConfig
    from lesson7.models.critic import EncoderCritic
    from lesson7.nogan.critic import pretrain_critic

    hr, root, _ = chain
    pretrain_critic(CriticConfig(arch="encoder", fake=root / "image_gen", real=hr, size=32, bs=8,
                                 epochs=1, lr=1e-4, device="cpu", out=tmp_path / "critic"),
                    progress=False)
    cfg = GANTrainConfig(generator=root / "generator", critic=tmp_path / "critic",
                         out=tmp_path / "gan", sizes=[32], epochs=[1], bs=8, critic_thresh=10.0,
                         device="cpu")
    assert gan_finetune(cfg, progress=False)["complete"]
    crit0, _ = load_critic(tmp_path / "critic")
    crit1, meta = load_critic(tmp_path / "gan")
    assert meta["arch"] == "encoder" and isinstance(crit1, EncoderCritic)
    assert _changed(crit0, crit1)
