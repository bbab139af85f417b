import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lesson7.models.layers import (
    DenseBlock,
    Flatten,
    MergeLayer,
    PixelShuffle_ICNR,
    SelfAttention,
    SequentialEx,
    SigmoidRange,
    conv_layer,
    res_block,
    sigmoid_range,
)


def test_conv_layer_order_and_bias():
    layer = conv_layer(3, 8)
    assert [type(m) for m in layer] == [nn.Conv2d, nn.ReLU, nn.BatchNorm2d]
    assert layer[0].bias is None  # BN follows: no bias
    plain = conv_layer(3, 8, norm_type=None, leaky=0.2)
    assert plain[0].bias is not None and isinstance(plain[1], nn.LeakyReLU)
    assert conv_layer(3, 8, stride=2)(torch.randn(1, 3, 9, 9)).shape == (1, 8, 5, 5)


@pytest.mark.parametrize("norm", ["weight", "spectral"])
def test_conv_layer_norm_wrappers(norm):
    conv = conv_layer(3, 8, norm_type=norm)[0]
    assert hasattr(conv, "parametrizations") and "weight" in conv.parametrizations


def test_bad_norm_type_names_value():
    with pytest.raises(ValueError, match="'bogus'"):
        conv_layer(3, 8, norm_type="bogus")


def test_res_block_is_residual_and_dense_doubles():
    x = torch.randn(2, 8, 5, 5)
    block = res_block(8)
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.zero_()
                m.bias.zero_()
    block.eval()
    assert torch.allclose(block(x), x)  # zeroed branch -> identity
    assert res_block(8, dense=True)(x).shape == (2, 16, 5, 5)
    assert res_block(8, bottle=True)[0][0].out_channels == 4


def test_sequential_ex_clears_orig():
    seq = SequentialEx(nn.Identity(), MergeLayer())
    x = torch.ones(1, 2)
    assert torch.equal(seq(x), 2 * x) and getattr(x, "orig", None) is None


def test_dense_block_channels():
    assert DenseBlock(8, growth=4, n_layers=3)(torch.randn(1, 8, 4, 4)).shape == (1, 20, 4, 4)


def test_self_attention_identity_at_init_then_learns():
    sa = SelfAttention(16)
    x = torch.randn(2, 16, 3, 5)
    assert sa.gamma.item() == 0 and torch.equal(sa(x), x)
    sa(x).sum().backward()
    assert sa.gamma.grad is not None and sa.gamma.grad.abs() > 0


@pytest.mark.parametrize("norm", ["weight", None, "spectral"])
def test_icnr_is_nearest_neighbour_at_init(norm):
    m = PixelShuffle_ICNR(8, 4, norm_type=norm).eval()
    x = torch.randn(2, 8, 5, 7)
    with torch.no_grad():
        w = m.conv[0].weight  # effective weight (after weight/spectral norm)
        expected = F.interpolate(F.relu(F.conv2d(x, w[::4])), scale_factor=2, mode="nearest")
        assert torch.allclose(m(x), expected, atol=1e-6)
        # and the 4 sub-pixel filters of each output channel are identical (ICNR, not nullified: B3)
        assert torch.allclose(w[0::4], w[1::4]) and torch.allclose(w[0::4], w[3::4])


def test_icnr_survives_weight_norm_g_equals_norm_v():
    conv = PixelShuffle_ICNR(8, 4, norm_type="weight").conv[0]
    g, v = conv.parametrizations.weight.original0, conv.parametrizations.weight.original1
    assert torch.allclose(g.flatten(), v.flatten(1).norm(dim=1))
    assert torch.allclose(v[0::4], v[1::4])


def test_blur_flag_is_honoured():
    x = torch.randn(1, 4, 6, 6)
    sharp, blurred = PixelShuffle_ICNR(4, blur=False), PixelShuffle_ICNR(4, blur=True)
    assert isinstance(sharp.blur, nn.Identity) and isinstance(blurred.blur, nn.AvgPool2d)
    assert sharp(x).shape == blurred(x).shape == (1, 4, 12, 12)


def test_sigmoid_range_and_flatten():
    x = torch.tensor([-100.0, 0.0, 100.0])
    assert torch.allclose(sigmoid_range(x, -3, 3), torch.tensor([-3.0, 0.0, 3.0]))
    assert torch.equal(SigmoidRange(-3, 3)(x), sigmoid_range(x, -3, 3))
    assert Flatten()(torch.randn(4, 10, 1, 1)).shape == (4, 10)
