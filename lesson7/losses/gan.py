"""GAN losses: the lesson's BCE GAN (patch critic) and the WGAN / WGAN-GP losses.

Scope: pure loss functions and the critic metric; who calls them when is `lesson7.gan`.
Sign convention for the Wasserstein losses is fastai v1's (`fastai/vision/gan.py`): the critic minimises
`critic(real).mean() - critic(fake).mean()`, so it scores *real* images low, and the generator
minimises `critic(fake).mean()`. This is Arjovsky et al.'s objective with the critic negated; it
keeps our loss values comparable with the lesson's recorded ones (disc_loss < 0).
Refs: Goodfellow et al. 2014 (arXiv:1406.2661); Arjovsky et al. 2017 (arXiv:1701.07875);
Gulrajani et al. 2017 (WGAN-GP, arXiv:1704.00028); fastai v1 `fastai/vision/gan.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LossFn = Callable[[Tensor, Tensor], Tensor]


class AdaptiveLoss(nn.Module):
    """Apply `crit` after expanding a per-image target (B,) to the critic's patch logits (B, P).

    fastai v1 lacked `reduction`, which crashed `interpret()` (fastai/fastai#2158); ours
    forwards it.
    """

    def __init__(self, crit: nn.Module | None = None) -> None:
        super().__init__()
        self.crit = nn.BCEWithLogitsLoss() if crit is None else crit

    @property
    def reduction(self) -> str:
        return getattr(self.crit, "reduction", "mean")

    def forward(self, output: Tensor, target: Tensor) -> Tensor:  # output: (B, P); target: (B,)
        expanded = target.view(-1, *([1] * (output.dim() - 1))).expand_as(output)  # (B, P)
        return self.crit(output, expanded.to(output.dtype))


def accuracy_thresh_expand(y_pred: Tensor, y_true: Tensor, thresh: float = 0.5,
                           sigmoid: bool = True) -> Tensor:
    """Share of patch logits on the right side of `thresh`, target (B,) broadcast to (B, P).

    fastai v1 compared a Bool tensor with a Byte one, which fails on PyTorch >= 1.2
    (fastai/course-v3#386); here both sides are bool.
    """
    prob = y_pred.sigmoid() if sigmoid else y_pred
    pred_real = prob > thresh                                                   # (B, P) bool
    true_real = (y_true > 0.5).view(-1, *([1] * (y_pred.dim() - 1)))            # (B, 1) bool
    true_real = true_real.expand_as(y_pred)                                     # (B, P)
    return (pred_real == true_real).float().mean()


class GANGeneratorLoss(nn.Module):
    """w0 * adversarial + w1 * pixel: `w0*BCE(critic(fake), real) + w1*pixel_loss(fake, target)`.

    The lesson uses weights_gen=(1, 50) and MSE: the pixel term keeps the restored image close to
    the original, the adversarial term pushes it towards images the critic calls real.
    """

    def __init__(self, weights_gen: tuple[float, float] = (1.0, 50.0),
                 pixel_loss: LossFn | None = None, adv_loss: nn.Module | None = None) -> None:
        super().__init__()
        if len(weights_gen) != 2 or min(weights_gen) < 0:
            raise ValueError(f"weights_gen must be two non-negative floats, got {weights_gen}")
        self.weights_gen = tuple(weights_gen)
        self.pixel_loss = F.mse_loss if pixel_loss is None else pixel_loss
        self.adv_loss = AdaptiveLoss() if adv_loss is None else adv_loss

    def forward(self, fake_pred: Tensor, fake: Tensor, target: Tensor) -> Tensor:
        real_label = fake_pred.new_ones(fake_pred.shape[0])  # the generator wants "real"
        adv = self.adv_loss(fake_pred, real_label)
        return self.weights_gen[0] * adv + self.weights_gen[1] * self.pixel_loss(fake, target)


class GANCriticLoss(nn.Module):
    """[BCE(critic(real), 1) + BCE(critic(fake), 0)] / 2, per patch (AdaptiveLoss)."""

    def __init__(self, adv_loss: nn.Module | None = None) -> None:
        super().__init__()
        self.adv_loss = AdaptiveLoss() if adv_loss is None else adv_loss

    def forward(self, real_pred: Tensor, fake_pred: Tensor) -> Tensor:
        ones = real_pred.new_ones(real_pred.shape[0])
        zeros = fake_pred.new_zeros(fake_pred.shape[0])
        return (self.adv_loss(real_pred, ones) + self.adv_loss(fake_pred, zeros)) / 2


def wgan_generator_loss(fake_pred: Tensor, fake: Tensor | None = None,
                        target: Tensor | None = None) -> Tensor:
    """fastai's `NoopLoss`: the mean critic score of the fakes (the critic scores real low)."""
    return fake_pred.mean()


def wasserstein_critic_loss(real_pred: Tensor, fake_pred: Tensor) -> Tensor:
    """fastai's `WassersteinLoss`: critic(real).mean() - critic(fake).mean() (< 0 when it wins)."""
    return real_pred.mean() - fake_pred.mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     weight: float = 10.0, eps: Tensor | None = None) -> Tensor:
    """WGAN-GP: weight * E[(||grad_x critic(x)||_2 - 1)^2] at x = eps*real + (1-eps)*fake.

    A soft 1-Lipschitz constraint on the straight lines between real and fake samples
    (Gulrajani et al. 2017, Algorithm 1, lambda = 10). `eps` (B,) defaults to U[0, 1).
    The graph is kept (create_graph) so the penalty trains the critic.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    b = real.shape[0]
    eps = torch.rand(b, device=real.device, dtype=real.dtype) if eps is None else eps
    eps = eps.view(b, *([1] * (real.dim() - 1)))                       # (B, 1, 1, 1)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)                                             # (B,) or (B, P)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grads.flatten(1).norm(2, dim=1)                            # (B,)
    return weight * ((norms - 1) ** 2).mean()
