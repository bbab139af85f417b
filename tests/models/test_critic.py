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


# -- the encoder critic ------------------------------------------------------------------------
def test_encoder_critic_has_a_spectral_norm_head_on_the_lite0_trunk_and_patch_logits():
    from lesson7.models.critic import encoder_critic

    critic = encoder_critic(pretrained=False).eval()
    head_convs = _convs(critic.head)
    assert len(head_convs) == 2 and all(parametrize.is_parametrized(c, "weight") for c in head_convs)
    assert not any(parametrize.is_parametrized(c, "weight") for c in _convs(critic.body))
    with torch.no_grad():
        assert critic(torch.zeros(2, 3, 128, 128)).shape == (2, 16)  # /32: 4x4 patches
        assert critic(torch.zeros(1, 3, 64, 96)).shape == (1, 6)


def test_encoder_critic_keeps_imagenet_batchnorm_statistics_while_training():
    """A critic batch is all real or all generated: batch statistics would leak the label."""
    from lesson7.models.critic import encoder_critic

    critic = encoder_critic(pretrained=False).train()
    bns = [m for m in critic.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert critic.head.training
    before = bns[0].running_mean.clone()
    critic(torch.randn(4, 3, 64, 64)).sum().backward()
    assert torch.equal(bns[0].running_mean, before)
    assert bns[0].weight.grad is not None  # the trunk still learns (affine weights, convs)
    # the same image scores the same whatever else is in its batch
    critic.head[0].p = 0.0
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        alone, mixed = critic(x[:1]), critic(torch.cat([x[:1], x[1:] * 5]))[:1]
    torch.testing.assert_close(alone, mixed)


def test_encoder_critic_loads_the_packaged_imagenet_weights():
    from lesson7.models.critic import encoder_critic
    from lesson7.models.efficientnet import efficientnet_lite0

    ref = efficientnet_lite0(pretrained=True)
    critic = encoder_critic(pretrained=True)
    torch.testing.assert_close(critic.body[0][1].weight, ref._conv_stem.weight)


def test_make_critic_by_name():
    from lesson7.models.critic import EncoderCritic, make_critic

    assert isinstance(make_critic("encoder", pretrained=False), EncoderCritic)
    assert isinstance(make_critic("lesson", nf=8, n_blocks=1), nn.Sequential)
    with pytest.raises(ValueError, match="'patch'"):
        make_critic("patch")
    with pytest.raises(ValueError, match="n_channels=1"):
        make_critic("encoder", n_channels=1, pretrained=False)
