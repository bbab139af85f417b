"""GANLearner: a Learner over a generator and a critic, with the lesson's two recipes.

Scope: wiring. `GANLearner.from_learners(gen_learn, critic_learn)` is the super-resolution GAN
(`lesson7-superres-gan.ipynb`: BCE patch critic, weights_gen (1, 50),
AdaptiveGANSwitcher(critic_thresh=0.65), critic LR x5, Adam betas (0, 0.99), wd 1e-3);
`GANLearner.wgan(...)` is the WGAN of `lesson7-wgan.ipynb` (clip
0.01, 5 critic batches per generator batch, wd 0) or, with `gp_weight`, WGAN-GP (Gulrajani et
al. 2017: penalty 10, no clipping). `NoiseData` makes (noise, real image) batches for a generator
that starts from noise (fastai's `GANItemList`). The loop itself is `lesson7.gan.trainer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lesson7.gan.switchers import AdaptiveGANSwitcher, FixedGANSwitcher, GANSwitcher
from lesson7.gan.trainer import (
    CriticLossFn,
    GANDiscriminativeLR,
    GANLoss,
    GANModule,
    GANTrainer,
    GenLossFn,
)
from lesson7.losses.gan import (
    AdaptiveLoss,
    GANCriticLoss,
    GANGeneratorLoss,
    wasserstein_critic_loss,
    wgan_generator_loss,
)
from lesson7.train.callbacks import Callback
from lesson7.train.learner import Learner
from lesson7.train.optim import adamw

# "GANs hate momentum" (the lecture): beta1 = 0, as in the lesson and in WGAN-GP's Adam(0, 0.9).
gan_adam = partial(adamw, betas=(0.0, 0.99))


class GANLearner(Learner):
    """Train `generator` and `critic` in turn on `data` batches of (generator input, real image)."""

    def __init__(self, data: Any, generator: nn.Module, critic: nn.Module, gen_loss: GenLossFn,
                 critic_loss: CriticLossFn, switcher: GANSwitcher | None = None,
                 clip: float | None = None, gp_weight: float = 0.0, switch_eval: bool = True,
                 mult_lr: float = 1.0, opt_func: Any = gan_adam, lr: float = 1e-4, wd: float = 1e-3,
                 cbs: Sequence[Callback] = (), path: str | Path = "runs/gan",
                 device: str | torch.device = "auto", **learner_kwargs: Any) -> None:
        gan = GANModule(generator, critic)
        self.gan_trainer = GANTrainer(switcher if switcher is not None else FixedGANSwitcher(5, 1),
                                      clip=clip, switch_eval=switch_eval)
        extra = [GANDiscriminativeLR(mult_lr)] if mult_lr != 1.0 else []
        super().__init__(gan, data, GANLoss(gen_loss, critic_loss, gan, gp_weight), metrics=(),
                         opt_func=opt_func, lr=lr, wd=wd, cbs=[self.gan_trainer, *extra, *cbs],
                         path=path, device=device, **learner_kwargs)
        self.gan_trainer.create_opts(self)
        self.opt = self.gan_trainer.opt_critic  # so Learner.fit does not build a third optimizer

    @property
    def generator(self) -> nn.Module:
        return self.model.generator

    @property
    def critic(self) -> nn.Module:
        return self.model.critic

    @classmethod
    def from_learners(cls, gen_learn: Learner, critic_learn: Learner,
                      weights_gen: tuple[float, float] = (1.0, 50.0),
                      switcher: GANSwitcher | None = None, mult_lr: float = 5.0,
                      **kwargs: Any) -> GANLearner:
        """The lesson's GAN from a pretrained generator learner and a pretrained critic learner.

        Generator loss: w0 * critic's loss(critic(fake), real) + w1 * the generator learner's own
        loss (pixel MSE in the lesson); critic loss: mean of its loss on real and on fake.
        """
        adv = critic_learn.loss_fn
        if not isinstance(adv, nn.Module):
            adv = AdaptiveLoss()
        gen_loss = GANGeneratorLoss(weights_gen, pixel_loss=gen_learn.loss_fn, adv_loss=adv)
        if switcher is None:
            switcher = AdaptiveGANSwitcher(critic_thresh=0.65)
        kwargs.setdefault("path", gen_learn.path)
        kwargs.setdefault("device", gen_learn.device)
        return cls(gen_learn.data, gen_learn.model, critic_learn.model, gen_loss,
                   GANCriticLoss(adv), switcher=switcher, mult_lr=mult_lr, **kwargs)

    @classmethod
    def wgan(cls, data: Any, generator: nn.Module, critic: nn.Module, clip: float | None = 0.01,
             gp_weight: float = 0.0, n_crit: int = 5, lr: float = 2e-4, wd: float = 0.0,
             **kwargs: Any) -> GANLearner:
        """WGAN (clip) or, with gp_weight > 0, WGAN-GP (no clipping, no BatchNorm in the critic)."""
        if gp_weight > 0 and clip is not None:
            raise ValueError("use either weight clipping (clip) or the gradient penalty "
                             f"(gp_weight), not both: clip={clip}, gp_weight={gp_weight}")
        kwargs.setdefault("switch_eval", False)  # the lesson's wgan: BatchNorm keeps training
        # WGAN-GP's Algorithm 1 uses Adam(0, 0.9); the lesson's WGAN (0, 0.99).
        kwargs.setdefault("opt_func", partial(adamw, betas=(0.0, 0.9)) if gp_weight else gan_adam)
        return cls(data, generator, critic, wgan_generator_loss, wasserstein_critic_loss,
                   switcher=FixedGANSwitcher(n_crit=n_crit, n_gen=1), clip=clip,
                   gp_weight=gp_weight, lr=lr, wd=wd, **kwargs)

    # -- results --------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, gen_input: Tensor) -> Tensor:
        """Generator output in eval mode (the mode is restored afterwards)."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generator(gen_input.to(self.device)).float().cpu()
        finally:
            self.generator.train(was_training)

    def show_results(self, path: str | Path, gen_input: Tensor | None = None,
                     target: Tensor | None = None, n: int = 8,
                     denorm: Callable[[Tensor], Tensor] | None = None) -> Path:
        """Save a PNG grid: one row per image, [input | generated | target] for image inputs,
        or just the generated images (8 per row) for noise inputs."""
        from torchvision.utils import save_image

        from lesson7.train.checkpoint import atomic_path

        if gen_input is None:
            gen_input, target = next(iter(self.data.train_dl))
        gen_input = gen_input[:n]
        fake = self.generate(gen_input)
        denorm = denorm or (lambda t: (t + 1) / 2)  # [-1, 1] -> [0, 1] for Tanh generators
        if gen_input.dim() == 4 and gen_input.shape[-2:] == fake.shape[-2:]:
            cols = [gen_input.cpu(), fake] + ([target[:n].cpu()] if target is not None else [])
            grid = torch.stack([denorm(c.float()) for c in cols], dim=1)  # (n, k, C, H, W)
            grid = grid.flatten(0, 1)                                      # (n*k, C, H, W)
            nrow = len(cols)
        else:
            grid, nrow = denorm(fake), 8
        path = Path(path)
        with atomic_path(path) as tmp:
            save_image(grid.clamp(0, 1), tmp, nrow=nrow, padding=2, format="png")
        return path


class NoiseData:
    """Batches of (noise (B, noise_sz, 1, 1), real image) for a generator that starts from noise.

    Fresh noise every batch, like fastai's `GANItemList`; `images` is any re-iterable of image
    batches (or of (image, label) pairs) with a len. There is no validation set.
    """

    def __init__(self, images: Iterable, noise_sz: int = 100) -> None:
        self.train_dl = _NoiseLoader(images, noise_sz)
        self.valid_dl: list = []


class _NoiseLoader:
    def __init__(self, images: Iterable, noise_sz: int) -> None:
        self.images, self.noise_sz = images, noise_sz

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.images, "set_epoch"):
            self.images.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for batch in self.images:
            real = batch[0] if isinstance(batch, (list, tuple)) else batch
            yield torch.randn(real.shape[0], self.noise_sz, 1, 1), real
