"""GAN training on the Learner: a two-net module, its loss, and the callback that alternates them.

Scope: one GAN batch at a time. `GANModule` holds the generator and the critic and runs the one
being trained; `GANLoss` is the Learner's loss_fn for both modes; `GANTrainer` (a callback) owns
the two optimizers, swaps `learn.opt` and the mode when the switcher says so, freezes the net not
being trained, clips or penalises the critic, smooths and logs both losses, and stops on NaN/inf.
`GANDiscriminativeLR` runs critic batches at `mult_lr` x the LR.

Batches come from the data as (generator input, real image): a crappified image (super-res GAN)
or noise (WGAN). In critic mode the batch is swapped, as in fastai: the critic sees the real image
as `xb`, and the loss gets the generator input to make the fakes.
Deliberate differences from fastai v1 `GANTrainer` (`fastai/vision/gan.py`):
- WGAN clipping runs right after each critic step (Arjovsky et al. 2017, Algorithm 1), so the
  critic's weights are always inside [-c, c]; fastai clipped at the start of the next critic batch.
- GAN stages skip validation (the lesson's GAN stages report no valid loss either).
- Each `fit` starts with the critic ("critic first").
Refs: fastai v1 `fastai/vision/gan.py`; Gulrajani et al. 2017 (WGAN-GP, arXiv:1704.00028).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from lesson7.gan.switchers import FixedGANSwitcher, GANSwitcher
from lesson7.losses.gan import gradient_penalty
from lesson7.train.callbacks import Callback, CancelEpoch
from lesson7.train.optim import lr_per_group, make_param_groups

if TYPE_CHECKING:
    from lesson7.train.learner import Learner

GenLossFn = Callable[[Tensor, Tensor, Tensor], Tensor]   # (critic(fake), fake, target) -> loss
CriticLossFn = Callable[[Tensor, Tensor], Tensor]        # (critic(real), critic(fake)) -> loss


class GANModule(nn.Module):
    """Generator + critic; `forward` runs the one being trained (`gen_mode`)."""

    def __init__(self, generator: nn.Module, critic: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.critic = critic
        self.gen_mode = False  # the critic trains first

    def forward(self, x: Tensor) -> Tensor:
        return self.generator(x) if self.gen_mode else self.critic(x)


class GANLoss(nn.Module):
    """The Learner's loss_fn in both modes.

    generator mode: `pred` = fake, `target` = real   -> gen_loss(critic(fake), fake, real)
    critic mode:    `pred` = critic(real), `target` = (generator input, real)
                    -> critic_loss(critic(real), critic(generator(input)))  [+ gradient penalty]
    """

    def __init__(self, gen_loss: GenLossFn, critic_loss: CriticLossFn, gan: GANModule,
                 gp_weight: float = 0.0) -> None:
        super().__init__()
        if gp_weight < 0:
            raise ValueError(f"gp_weight must be >= 0, got {gp_weight}")
        self.gen_loss, self.critic_loss = gen_loss, critic_loss
        self.gan = [gan]  # a list: the module is the Learner's model, not a part of the loss
        self.gp_weight = gp_weight

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        gan = self.gan[0]
        if gan.gen_mode:
            return self.gen_loss(gan.critic(pred), pred, target)
        gen_input, real = target
        with torch.no_grad():
            fake = gan.generator(gen_input)
        loss = self.critic_loss(pred, gan.critic(fake))
        if self.gp_weight > 0:
            loss = loss + gradient_penalty(gan.critic, real, fake, self.gp_weight)
        return loss


def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of `module` to [-c, c] in place."""
    with torch.no_grad():
        for p in module.parameters():
            p.clamp_(-c, c)


class SmoothedLoss:
    """Debiased exponential moving average (fastai's SmoothenValue, beta = 0.98)."""

    def __init__(self, beta: float = 0.98) -> None:
        self.beta, self.n, self.avg = beta, 0, 0.0

    def add(self, value: float) -> None:
        self.n += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * value

    @property
    def value(self) -> float:
        return self.avg / (1 - self.beta**self.n) if self.n else math.nan


class GANTrainer(Callback):
    """Alternate critic and generator batches on one Learner whose model is a `GANModule`."""

    order = -10  # before ParamScheduler (10): it writes the LR into the optimizer we pick

    def __init__(self, switcher: GANSwitcher | None = None, clip: float | None = None,
                 switch_eval: bool = True, beta: float = 0.98) -> None:
        if clip is not None and clip <= 0:
            raise ValueError(f"clip must be > 0 (or None), got {clip}")
        self.switcher = switcher if switcher is not None else FixedGANSwitcher(n_crit=1, n_gen=1)
        self.clip, self.switch_eval, self.beta = clip, switch_eval, beta
        self.opt_gen: torch.optim.Optimizer | None = None
        self.opt_critic: torch.optim.Optimizer | None = None
        self.gen_history: list[float] = []     # smoothed values, one per generator batch
        self.critic_history: list[float] = []  # smoothed values, one per critic batch

    # -- setup -----------------------------------------------------------------------------
    def _gan(self, learn: Learner) -> GANModule:
        if not isinstance(learn.model, GANModule):
            raise ValueError(f"GANTrainer needs a GANModule, got {type(learn.model).__name__}")
        return learn.model

    def create_opts(self, learn: Learner) -> None:
        """One optimizer per net, each a single layer group (fastai does the same)."""
        gan = self._gan(learn)
        for name in ("generator", "critic"):
            net = getattr(gan, name)
            groups = make_param_groups(net, [list(net.parameters())], learn.wd, learn.bn_wd)
            lr = lr_per_group(learn.lr, 1)[0]  # ParamScheduler rewrites it each batch
            for g in groups:
                g["lr"] = lr
            opt = learn.opt_func(groups)
            setattr(self, "opt_gen" if name == "generator" else "opt_critic", opt)

    def before_fit(self, learn: Learner) -> None:
        if self.opt_gen is None:
            self.create_opts(learn)
        for opt in (self.opt_gen, self.opt_critic):  # honour fit(..., wd=...) like the Learner
            for g in opt.param_groups:
                g["weight_decay"] = learn.opt.param_groups[0]["weight_decay"]
        self.switcher.reset()
        self.gen_loss, self.critic_loss = SmoothedLoss(self.beta), SmoothedLoss(self.beta)
        if self.clip is not None:
            clip_weights_(self._gan(learn).critic, self.clip)
        self.switch(learn, gen_mode=False)

    def switch(self, learn: Learner, gen_mode: bool) -> None:
        """Train the generator (gen_mode) or the critic; freeze and (optionally) eval the other."""
        gan = self._gan(learn)
        gan.gen_mode = gen_mode
        learn.opt = self.opt_gen if gen_mode else self.opt_critic
        trained, frozen = (gan.generator, gan.critic) if gen_mode else (gan.critic, gan.generator)
        trained.requires_grad_(True)
        frozen.requires_grad_(False)
        trained.train()
        frozen.train(not self.switch_eval)  # eval: no dropout, no BatchNorm statistics updates

    # -- each batch ------------------------------------------------------------------------
    def before_epoch(self, learn: Learner) -> None:
        self.n_gen_batches = self.n_critic_batches = 0  # logged: a switcher can starve one side

    def before_train(self, learn: Learner) -> None:
        self.switch(learn, self._gan(learn).gen_mode)  # the Learner just set everything to train

    def before_batch(self, learn: Learner) -> None:
        if not learn.training:
            raise CancelEpoch  # GAN stages have no validation loss (as in the lesson)
        if not self._gan(learn).gen_mode:
            gen_input, real = learn.xb, learn.yb
            learn.xb, learn.yb = real, (gen_input, real)  # the critic sees the real image

    def after_loss(self, learn: Learner) -> None:
        if not torch.isfinite(learn.loss).item():
            mode = "generator" if self._gan(learn).gen_mode else "critic"
            raise FloatingPointError(
                f"GAN {mode} loss became {learn.loss.item()} at epoch {learn.epoch}, batch "
                f"{learn.iter}; training stopped. The last good checkpoint is kept (try a lower "
                "learning rate, a smaller pixel weight, or --gp instead of clipping).")

    def after_step(self, learn: Learner) -> None:
        gan = self._gan(learn)
        if self.clip is not None and not gan.gen_mode:
            clip_weights_(gan.critic, self.clip)

    def after_batch(self, learn: Learner) -> None:
        gen_mode = self._gan(learn).gen_mode
        loss = learn.loss.item()
        smooth, history = ((self.gen_loss, self.gen_history) if gen_mode
                           else (self.critic_loss, self.critic_history))
        smooth.add(loss)
        history.append(smooth.value)
        if gen_mode:
            self.n_gen_batches += 1
        else:
            self.n_critic_batches += 1
        if self.switcher.step(gen_mode, loss):
            self.switch(learn, not gen_mode)

    def after_epoch(self, learn: Learner) -> None:
        bad = [n for n, p in learn.model.named_parameters() if not torch.isfinite(p).all()]
        if bad:  # checked before SaveEveryEpoch (order 99) can overwrite a good checkpoint
            raise FloatingPointError(f"non-finite weights after epoch {learn.epoch}: {bad[:3]}; "
                                     "training stopped, the last good checkpoint is kept.")
        learn.log["gen_loss"] = self.gen_loss.value
        learn.log["critic_loss"] = self.critic_loss.value
        learn.log["gen_batches"] = self.n_gen_batches
        learn.log["critic_batches"] = self.n_critic_batches


class GANDiscriminativeLR(Callback):
    """Critic batches run at `mult_lr` x the scheduled LR (the lesson: 5e-4 vs 1e-4)."""

    order = 11  # after ParamScheduler (10) has written this batch's LR

    def __init__(self, mult_lr: float = 5.0) -> None:
        if mult_lr <= 0:
            raise ValueError(f"mult_lr must be > 0, got {mult_lr}")
        self.mult_lr = mult_lr
        self.scaled: torch.optim.Optimizer | None = None

    def before_batch(self, learn: Learner) -> None:
        if learn.training and not learn.model.gen_mode:
            self.scaled = learn.opt
            for g in learn.opt.param_groups:
                g["lr"] *= self.mult_lr

    def after_step(self, learn: Learner) -> None:
        self.cleanup_batch(learn)

    def cleanup_batch(self, learn: Learner) -> None:
        if self.scaled is not None:  # undo, so the LR is never multiplied twice
            for g in self.scaled.param_groups:
                g["lr"] /= self.mult_lr
            self.scaled = None
