import math

import pytest
import torch
from torch import nn

from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.gan.switchers import FixedGANSwitcher
from lesson7.gan.trainer import GANDiscriminativeLR
from lesson7.losses.gan import AdaptiveLoss, GANCriticLoss, GANGeneratorLoss
from lesson7.models.critic import gan_critic
from lesson7.models.wgan import basic_critic, basic_generator
from lesson7.train.callbacks import Callback
from lesson7.train.learner import Learner


class Pairs:
    """(input, target) image batches standing in for a restoration DataBunch."""

    def __init__(self, n_batches=4, bs=4, size=16, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.train_dl = [(torch.rand(bs, 3, size, size, generator=g) * 2 - 1,
                          torch.rand(bs, 3, size, size, generator=g) * 2 - 1)
                         for _ in range(n_batches)]
        self.valid_dl = self.train_dl[:1]


def tiny_generator():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 3, 3, padding=1), nn.Tanh())


def tiny_gan(switcher, **kw):
    data = Pairs()
    gen = Learner(tiny_generator(), data, nn.MSELoss(), device="cpu", progress=False)
    crit = Learner(gan_critic(nf=4, n_blocks=1), data, AdaptiveLoss(), device="cpu",
                   progress=False)
    return GANLearner.from_learners(gen, crit, switcher=switcher, lr=1e-3, **kw)


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


class Snapshot(Callback):
    order = 50

    def __init__(self, at):
        self.at, self.mode, self.flags = at, [], []

    def after_loss(self, learn):  # (gen_mode, generator.training, critic.training) per batch
        self.flags.append((learn.model.gen_mode, learn.generator.training, learn.critic.training))

    def after_batch(self, learn):
        self.mode.append("G" if learn.model.gen_mode else "C")  # mode of the *next* batch
        if learn.iter == self.at:
            self.gen, self.crit = _params(learn.generator), _params(learn.critic)


def test_critic_steps_leave_the_generator_unchanged(tmp_path):
    learn = tiny_gan(FixedGANSwitcher(n_crit=100, n_gen=1), path=tmp_path)
    gen0, crit0 = _params(learn.generator), _params(learn.critic)
    gen_buffers = [b.clone() for b in learn.generator.buffers()]
    learn.fit(1, 1e-3)  # 4 batches, all critic
    assert _same(gen0, _params(learn.generator))
    buffers = list(learn.generator.buffers())  # BatchNorm statistics: eval mode, untouched
    assert all(torch.equal(a, b) for a, b in zip(gen_buffers, buffers, strict=True))
    assert not _same(crit0, _params(learn.critic))
    assert all(not p.requires_grad for p in learn.generator.parameters())


def test_generator_steps_leave_the_critic_unchanged(tmp_path):
    snap = Snapshot(at=0)  # after the first (critic) batch
    learn = tiny_gan(FixedGANSwitcher(n_crit=1, n_gen=100), path=tmp_path, cbs=[snap])
    learn.fit(1, 1e-3)
    assert "".join(snap.mode) == "GGGG"  # critic first, then the generator keeps going
    row = learn.recorder.history[-1]
    assert (row["critic_batches"], row["gen_batches"]) == (1, 3)  # 4 batches an epoch
    assert _same(snap.crit, _params(learn.critic))
    assert not _same(snap.gen, _params(learn.generator))
    # the net being trained is in train mode, the other in eval mode
    assert snap.flags == [(False, False, True)] + [(True, True, False)] * 3


def test_losses_are_logged_smoothed_and_optimizers_are_single_groups(tmp_path):
    learn = tiny_gan(FixedGANSwitcher(n_crit=1, n_gen=1), path=tmp_path)
    learn.fit(2, 1e-3)
    row = learn.recorder.history[-1]
    assert math.isfinite(row["gen_loss"]) and math.isfinite(row["critic_loss"])
    assert "valid_loss" not in row  # GAN stages skip validation
    t = learn.gan_trainer
    assert len(t.gen_history) == len(t.critic_history) == 4
    assert all(r["gen_batches"] == r["critic_batches"] == 2 for r in learn.recorder.history)
    assert len(t.opt_gen.param_groups) == len(t.opt_critic.param_groups) == 1
    assert t.opt_gen.param_groups[0]["betas"] == (0.0, 0.99)
    assert t.opt_gen.param_groups[0]["weight_decay"] == pytest.approx(1e-3)
    gen_ids = {id(p) for p in learn.generator.parameters()}
    assert {id(p) for p in t.opt_gen.param_groups[0]["params"]} == gen_ids


def test_critic_lr_is_multiplied_only_in_critic_batches(tmp_path):
    class LRs(Callback):
        order = 12  # after GANDiscriminativeLR

        def __init__(self):
            self.seen = []

        def before_batch(self, learn):
            self.seen.append((learn.model.gen_mode, learn.opt.param_groups[0]["lr"]))

    lrs = LRs()
    learn = tiny_gan(FixedGANSwitcher(n_crit=1, n_gen=1), path=tmp_path, cbs=[lrs])
    assert any(isinstance(cb, GANDiscriminativeLR) for cb in learn.cbs)
    learn.fit(1, 1e-4)
    assert lrs.seen == [(False, pytest.approx(5e-4)), (True, pytest.approx(1e-4))] * 2
    assert learn.gan_trainer.opt_critic.param_groups[0]["lr"] == pytest.approx(1e-4)


def test_nan_loss_stops_with_a_clear_message(tmp_path):
    learn = tiny_gan(FixedGANSwitcher(1, 1), path=tmp_path)
    learn.model.critic[0][0].parametrizations.weight.original.data.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="critic loss became nan.*last good checkpoint"):
        learn.fit(1, 1e-3)


def test_generator_loss_combines_critic_and_pixel_terms(tmp_path):
    learn = tiny_gan(FixedGANSwitcher(1, 1), path=tmp_path, weights_gen=(2.0, 7.0))
    gen_loss = learn.loss_fn.gen_loss
    assert isinstance(gen_loss, GANGeneratorLoss) and gen_loss.weights_gen == (2.0, 7.0)
    assert isinstance(learn.loss_fn.critic_loss, GANCriticLoss)


def _wgan(tmp_path, gp_weight=0.0, clip=0.01):
    images = [torch.rand(8, 1, 16, 16) * 2 - 1 for _ in range(6)]
    data = NoiseData(images, noise_sz=8)
    gen = basic_generator(16, 1, noise_sz=8, n_features=8)
    crit = basic_critic(16, 1, n_features=8, norm_type=None if gp_weight else "batch")
    return GANLearner.wgan(data, gen, crit, clip=clip, gp_weight=gp_weight, n_crit=2,
                           path=tmp_path, device="cpu", progress=False, lr=1e-2)


def test_wgan_clipping_keeps_every_critic_weight_in_range(tmp_path):
    learn = _wgan(tmp_path)
    learn.fit(1)
    for p in learn.critic.parameters():
        assert p.abs().max() <= 0.01 + 1e-8
    assert max(p.abs().max() for p in learn.generator.parameters()) > 0.01  # only the critic
    assert learn.recorder.history[-1]["critic_loss"] <= 0.05


def test_wgan_gp_trains_without_clipping(tmp_path):
    learn = _wgan(tmp_path, gp_weight=10.0, clip=None)
    learn.fit(1)
    assert max(p.abs().max() for p in learn.critic.parameters()) > 0.01
    assert learn.gan_trainer.opt_critic.param_groups[0]["betas"] == (0.0, 0.9)
    assert math.isfinite(learn.recorder.history[-1]["gen_loss"])
    with pytest.raises(ValueError, match="not both"):
        _wgan(tmp_path, gp_weight=10.0, clip=0.01)


def test_show_results_writes_a_grid(tmp_path):
    learn = _wgan(tmp_path)
    out = learn.show_results(tmp_path / "samples.png", n=4)
    assert out.exists() and out.stat().st_size > 0
    learn2 = tiny_gan(FixedGANSwitcher(1, 1), path=tmp_path)
    from PIL import Image
    png = learn2.show_results(tmp_path / "rows.png", n=2)
    assert Image.open(png).size == (3 * 16 + 4 * 2, 2 * 16 + 3 * 2)  # 3 columns x 2 rows
