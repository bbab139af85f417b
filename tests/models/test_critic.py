import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from lesson7.models.critic import gan_critic
from lesson7.models.layers import SelfAttention


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def test_every_conv_is_spectral_normed_with_leaky_relu_and_no_batchnorm():
    critic = gan_critic(n_channels=3, nf=8, n_blocks=2)
    convs = _convs(critic)
    assert len(convs) == 1 + 2 + 2 + 1  # stem, dense res block (2), 2 down convs, head
    for conv in convs:
        assert parametrize.is_parametrized(conv, "weight")
        kinds = [type(p).__name__ for p in conv.parametrizations.weight]
        assert kinds == ["_SpectralNorm"], kinds
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    leaky = [m for m in critic.modules() if isinstance(m, nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == 0.2 for m in leaky)
    assert not any(type(m) is nn.ReLU for m in critic.modules())


def test_patch_logits_5x5_at_128px_and_lesson_channels():
    critic = gan_critic().eval()  # the lesson's defaults: nf=128, 3 blocks
    with torch.no_grad():
        out = critic(torch.randn(1, 3, 128, 128))
    assert out.shape == (1, 25)
    head = _convs(critic)[-1]
    assert head.in_channels == 2048 and head.out_channels == 1 and head.bias is None
    attn = [m for m in critic.modules() if isinstance(m, SelfAttention)]
    assert len(attn) == 1 and attn[0].value.in_channels == 512


@pytest.mark.parametrize("size, patches", [(64, 25), (96, 81), (48, 9)])
def test_patch_grid_follows_input_size(size, patches):
    critic = gan_critic(nf=4, n_blocks=2).eval()  # 3 halvings, then a 4x4 valid conv
    with torch.no_grad():
        assert critic(torch.randn(2, 3, size, size)).shape == (2, patches)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="p must be"):
        gan_critic(p=1.5)
    with pytest.raises(ValueError, match="n_channels"):
        gan_critic(n_channels=0)
