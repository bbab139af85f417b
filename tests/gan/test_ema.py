"""`GeneratorEMA`: an exponential moving average of the generator, updated on generator steps only."""

import pytest
import torch
from torch import nn

from lesson7.gan.ema import GeneratorEMA


class FakeGAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        self.gen_mode = True


class FakeLearner:
    def __init__(self):
        self.model = FakeGAN()


def test_the_average_follows_the_ema_rule_on_generator_steps_only():
    learn = FakeLearner()
    gen = learn.model.generator
    ema = GeneratorEMA(gen, decay=0.9)
    w0 = gen[0].weight.detach().clone()
    with torch.no_grad():
        gen[0].weight.add_(1.0)
    gen.train()(torch.randn(8, 2))  # moves the BatchNorm running mean
    ema.after_step(learn)  # the first update copies the weights (AveragedModel's rule)
    assert torch.allclose(ema.average.module[0].weight, w0 + 1)
    with torch.no_grad():
        gen[0].weight.add_(1.0)
    ema.after_step(learn)
    assert torch.allclose(ema.average.module[0].weight, 0.9 * (w0 + 1) + 0.1 * (w0 + 2))
    learn.model.gen_mode = False  # a critic step: the average does not move
    with torch.no_grad():
        gen[0].weight.add_(5.0)
    ema.after_step(learn)
    assert torch.allclose(ema.average.module[0].weight, 0.9 * (w0 + 1) + 0.1 * (w0 + 2))
    target = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema.copy_to(target)  # weights and BatchNorm statistics
    assert torch.equal(target[0].weight, ema.average.module[0].weight)
    assert torch.equal(target[1].running_mean, ema.average.module[1].running_mean)
    assert not torch.equal(target[1].running_mean, torch.zeros(2))


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        GeneratorEMA(nn.Linear(1, 1), decay)
