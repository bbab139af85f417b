import pytest
import torch
from torch import nn

from lesson7.models.wgan import basic_critic, basic_generator


def test_generator_shapes_match_the_lesson_at_64px():
    g = basic_generator(64, 3, n_extra_layers=1)
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 64, 3]
    assert convs[-1].bias is None and isinstance(g[-1], nn.Tanh)
    out = g(torch.randn(2, 100, 1, 1))
    assert out.shape == (2, 3, 64, 64)
    assert out.abs().max() <= 1


@pytest.mark.parametrize("size, channels", [(32, 1), (64, 3), (16, 3)])
def test_generator_and_critic_round_trip(size, channels):
    g = basic_generator(size, channels, noise_sz=10, n_features=8)
    c = basic_critic(size, channels, n_features=8, n_extra_layers=1)
    fake = g(torch.randn(5, 10, 1, 1))
    assert fake.shape == (5, channels, size, size)
    scores = c(fake)
    assert scores.shape == (5,)  # one score per image (fastai averaged over the batch)
    scores.sum().backward()
    assert all(p.grad is not None for p in c.parameters())
    assert all(p.grad is not None for p in g.parameters())


def test_critic_without_norm_for_gradient_penalty():
    c = basic_critic(32, 1, n_features=8, n_extra_layers=1, norm_type=None)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in c.modules())
    # per-image independence: a score does not depend on the other images of the batch
    x = torch.randn(4, 1, 32, 32)
    torch.testing.assert_close(c(x)[:2], c(x[:2]))


def test_first_critic_layer_has_no_norm():
    c = basic_critic(32, 3, n_features=8)
    first = c.body[0]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in first.modules())
    assert isinstance(first[1], nn.LeakyReLU)


@pytest.mark.parametrize("size", [4, 30, 48])
def test_size_must_be_power_of_two(size):
    with pytest.raises(ValueError, match="in_size"):
        basic_generator(size, 3)
    with pytest.raises(ValueError, match="in_size"):
        basic_critic(size, 3)
