import pytest
import torch

from lesson7.models.mnist import MNIST_MODELS, mnist_basic, mnist_resnet


@pytest.mark.parametrize("name,count", [("basic", 12_126), ("refactor", 12_044), ("resnet", 41_132)])
def test_parameter_counts_match_the_lesson(name, count):
    assert sum(p.numel() for p in MNIST_MODELS[name]().parameters()) == count


@pytest.mark.parametrize("factory", [mnist_basic, mnist_resnet])
def test_shapes_and_every_param_gets_a_gradient(factory):
    m = factory()
    out = m(torch.randn(4, 1, 28, 28))
    assert out.shape == (4, 10) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
