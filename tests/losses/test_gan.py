import math

import pytest
import torch
from torch import nn

from lesson7.losses.gan import (
    AdaptiveLoss,
    GANCriticLoss,
    GANGeneratorLoss,
    accuracy_thresh_expand,
    gradient_penalty,
    wasserstein_critic_loss,
    wgan_generator_loss,
)


def _bce(logit: float, target: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def test_adaptive_loss_broadcasts_the_per_image_target_over_patches():
    logits = torch.tensor([[0.0, 2.0, -1.0], [1.0, 1.0, -3.0]])  # (B=2, P=3)
    target = torch.tensor([1, 0])                               # ints, as a label_from_folder gives
    expected = sum(_bce(v, 1) for v in (0.0, 2.0, -1.0)) + sum(_bce(v, 0) for v in (1.0, 1.0, -3.0))
    assert AdaptiveLoss()(logits, target).item() == pytest.approx(expected / 6, rel=1e-6)
    per_elem = AdaptiveLoss(nn.BCEWithLogitsLoss(reduction="none"))(logits, target)
    assert per_elem.shape == (2, 3)
    assert per_elem[1, 2].item() == pytest.approx(_bce(-3.0, 0), rel=1e-6)
    assert AdaptiveLoss(nn.BCEWithLogitsLoss(reduction="sum")).reduction == "sum"


def test_accuracy_thresh_expand_counts_patches_on_bool_tensors():
    logits = torch.tensor([[3.0, -1.0, 2.0, 0.5], [-2.0, -0.1, 4.0, -5.0]])
    target = torch.tensor([1, 0], dtype=torch.uint8)  # byte target: the PyTorch >= 1.2 crash case
    # image 0 (real): 3 of 4 patches > 0; image 1 (fake): 3 of 4 patches < 0
    assert accuracy_thresh_expand(logits, target).item() == pytest.approx(6 / 8)
    assert accuracy_thresh_expand(logits, target.bool()).item() == pytest.approx(6 / 8)
    probs = logits.sigmoid()
    assert accuracy_thresh_expand(probs, target, sigmoid=False).item() == pytest.approx(6 / 8)


def test_generator_loss_is_w0_bce_plus_w1_pixel():
    fake_pred = torch.tensor([[0.5, -0.5], [2.0, 0.0]])
    fake = torch.zeros(2, 1, 2, 2)
    target = torch.full((2, 1, 2, 2), 0.1)
    adv = sum(_bce(v, 1) for v in (0.5, -0.5, 2.0, 0.0)) / 4
    mse = 0.01
    loss = GANGeneratorLoss(weights_gen=(1.0, 50.0))(fake_pred, fake, target)
    assert loss.item() == pytest.approx(adv + 50 * mse, rel=1e-5)
    loss2 = GANGeneratorLoss(weights_gen=(2.0, 0.0))(fake_pred, fake, target)
    assert loss2.item() == pytest.approx(2 * adv, rel=1e-5)
    l1 = GANGeneratorLoss((0.0, 3.0), pixel_loss=nn.L1Loss())(fake_pred, fake, target)
    assert l1.item() == pytest.approx(0.3, rel=1e-5)


def test_critic_loss_is_mean_of_real_and_fake_terms():
    real_pred = torch.tensor([[1.0], [3.0]])
    fake_pred = torch.tensor([[-2.0], [0.5]])
    real_term = (_bce(1.0, 1) + _bce(3.0, 1)) / 2
    fake_term = (_bce(-2.0, 0) + _bce(0.5, 0)) / 2
    expected = (real_term + fake_term) / 2
    assert GANCriticLoss()(real_pred, fake_pred).item() == pytest.approx(expected, rel=1e-6)


def test_wasserstein_losses_follow_fastai_signs():
    real_pred = torch.tensor([-1.0, -3.0])
    fake_pred = torch.tensor([2.0, 0.0])
    assert wasserstein_critic_loss(real_pred, fake_pred).item() == pytest.approx(-2.0 - 1.0)
    assert wgan_generator_loss(fake_pred).item() == pytest.approx(1.0)


def test_weights_gen_validated():
    with pytest.raises(ValueError, match="weights_gen"):
        GANGeneratorLoss(weights_gen=(1.0, -2.0))


class _Linear(nn.Module):
    """critic(x) = <w, x> per image: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_on_a_linear_critic():
    w = torch.tensor([[[3.0, 4.0]]])  # ||w|| = 5 -> penalty = 10 * (5 - 1)^2 = 160
    critic = _Linear(w)
    real, fake = torch.randn(4, 1, 1, 2), torch.randn(4, 1, 1, 2)
    gp = gradient_penalty(critic, real, fake, weight=10.0)
    assert gp.item() == pytest.approx(160.0, rel=1e-6)
    gp.backward()  # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    torch.testing.assert_close(critic.w.grad, 20 * 4 * w / 5)
    unit = _Linear(torch.tensor([[[0.6, 0.8]]]))
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_is_taken_at_the_interpolates():
    class Square(nn.Module):  # critic(x) = sum x^2 / 2: gradient = x itself
        def forward(self, x):
            return (x**2).flatten(1).sum(1) / 2

    real = torch.tensor([[2.0, 0.0]]).view(1, 1, 1, 2)
    fake = torch.tensor([[0.0, 0.0]]).view(1, 1, 1, 2)
    eps = torch.tensor([0.25])  # x = 0.25 * real: ||grad|| = 0.5 -> (0.5 - 1)^2 = 0.25
    assert gradient_penalty(Square(), real, fake, weight=1.0, eps=eps).item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(Square(), real, fake[:, :, :, :1])
