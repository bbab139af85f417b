"""Dynamic U-Net: shapes for several encoders and odd sizes, skip gradients (B1), ICNR under
weight norm (B3), blur only where flagged (B2), self-attention placement, the resnet34 channel
plan of fastai v1's `DynamicUnet`, fastai 2.8's parameter count, and the 3-group frozen learner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from lesson7.data.tensor_batches import TensorBatches
from lesson7.models.encoders import (
    PretrainedWeightsUnavailable,
    create_encoder,
    load_tv_model,
)
from lesson7.models.layers import PixelShuffle_ICNR, SelfAttention
from lesson7.models.unet import DynamicUnet, find_resolution_drops, unet_splitter
from lesson7.restore.train import unet_learner

SHARED = Path(os.environ.get("LESSON7_SHARED",
                            Path(__file__).resolve().parents[2] / ".." / "shared"))

pytestmark = pytest.mark.usefixtures("one_thread")


def _unet(arch="resnet18", size=(64, 64), in_channels=3, **kw) -> DynamicUnet:
    enc = create_encoder(arch, pretrained=False, in_channels=in_channels)
    return DynamicUnet(enc, 3, size, **kw)


# Big decoders (resnet50: a 2048->4096 middle conv) take seconds just to initialise.
_slow = pytest.mark.slow


@pytest.mark.parametrize("arch,size", [("resnet18", (64, 64)), ("resnet34", (64, 64)),
                                       pytest.param("resnet50", (64, 64), marks=_slow),
                                       pytest.param("vgg16", (32, 32), marks=_slow),
                                       pytest.param("vgg16_bn", (32, 32), marks=_slow)])
def test_output_shape_for_encoders(arch, size):
    torch.manual_seed(0)
    m = _unet(arch, size, norm_type="weight", blur=True, self_attention=True,
              y_range=(-3.0, 3.0)).eval()
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        y = m(x)
    assert y.shape == (2, 3, *size)
    assert torch.isfinite(y).all()
    assert y.min() >= -3 and y.max() <= 3
    if arch.startswith("vgg"):  # first skip at full resolution: no final PixelShuffle
        assert isinstance(m.upsample, nn.Identity)
        assert len(m.blocks) == 4  # H/16 -> H/8 -> H/4 -> H/2 -> H


def _tiny_encoder() -> nn.Sequential:
    """Any CNN works as an encoder: three stride-2 stages."""
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.BatchNorm2d(8),
                         nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(), nn.BatchNorm2d(16),
                         nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU())


def test_custom_encoder_skips_and_shape():
    m = DynamicUnet(_tiny_encoder(), 3, (24, 40), norm_type="weight")
    assert m.skip_idxs == [2, 5]  # last child before each drop
    assert m(torch.randn(2, 3, 24, 40)).shape == (2, 3, 24, 40)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_odd_size_and_channels(in_channels):
    m = _unet("resnet18", (97, 131), in_channels=in_channels).eval()
    x = torch.randn(1, in_channels, 97, 131)
    with torch.no_grad():
        assert m(x).shape == (1, 3, 97, 131)
        # probed at one size, the model still runs at another (output resized to the input)
        assert m(torch.randn(1, in_channels, 64, 80)).shape == (1, 3, 64, 80)


def test_resolution_drops_compare_height_and_width():
    enc = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1),
                        nn.Conv2d(4, 4, (1, 3), stride=(1, 2), padding=(0, 1)),  # only W halves
                        nn.Conv2d(4, 4, 3, padding=1))
    drops, shapes = find_resolution_drops(enc, (16, 16))
    assert drops == [0]
    assert shapes[1][-2:] == (16, 8)


def test_skips_carry_gradient_to_the_encoder():
    """B1: with the bottleneck path cut, the encoder still learns through the skips."""
    torch.manual_seed(0)
    m = _unet("resnet18", (64, 64))

    class Zero(nn.Module):
        def forward(self, x):
            return torch.zeros_like(x)

    m.middle = Zero()  # no gradient can reach the encoder through the bottleneck
    m(torch.randn(2, 3, 64, 64)).pow(2).mean().backward()
    g = m.encoder[0].weight.grad
    assert g is not None and g.abs().sum() > 0
    g4 = m.encoder[4][0].conv1.weight.grad  # layer1 feeds a skip too
    assert g4 is not None and g4.abs().sum() > 0


def _effective_weight(conv: nn.Conv2d) -> torch.Tensor:
    return conv.weight.detach()  # parametrized: recomputed from g and v


def test_icnr_survives_weight_norm():
    """B3: the upsampling conv starts as nearest-neighbour (groups of 4 identical filters)."""
    m = _unet("resnet18", (64, 64), norm_type="weight")
    shufs = [b.shuf for b in m.blocks] + [m.upsample]
    for shuf in shufs:
        assert isinstance(shuf, PixelShuffle_ICNR)
        w = _effective_weight(shuf.conv[0])
        groups = w.view(w.shape[0] // 4, 4, *w.shape[1:])
        assert torch.allclose(groups, groups[:, :1].expand_as(groups), atol=1e-6)
        assert w.abs().sum() > 0


def test_icnr_block_output_is_nearest_upsampling_at_init():
    m = _unet("resnet18", (64, 64), norm_type="weight").eval()
    shuf = m.blocks[0].shuf
    y = shuf(torch.randn(1, 512, 4, 4))  # (1, 256, 8, 8)
    assert torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 1::2])


@pytest.mark.parametrize("blur,blur_final", [(False, True), (True, True), (True, False)])
def test_blur_only_where_flagged(blur, blur_final):
    m = _unet("resnet18", (64, 64), blur=blur, blur_final=blur_final)
    flags = [isinstance(b.shuf.blur, nn.AvgPool2d) for b in m.blocks]
    n = len(m.blocks)
    assert flags == [blur and (i < n - 1 or blur_final) for i in range(n)]


def test_self_attention_in_third_block_from_the_end():
    m = _unet("resnet34", (64, 64), self_attention=True)
    has = [any(isinstance(x, SelfAttention) for x in b.modules()) for b in m.blocks]
    assert has == [False, True, False, False]  # len(blocks) - 3 == 1
    assert not any(isinstance(x, SelfAttention) for x in _unet("resnet34").modules())


def test_resnet34_channel_plan_matches_reference():
    m = _unet("resnet34", (128, 128), norm_type="weight", blur=True, self_attention=True,
              y_range=(-3.0, 3.0))
    assert m.skip_idxs == [2, 4, 5, 6]  # relu after conv1, layer1, layer2, layer3
    assert [b.out_channels for b in m.blocks] == [512, 384, 256, 96]
    assert [b.bn.num_features for b in m.blocks] == [256, 128, 64, 64]
    assert m.middle[2][0].in_channels == 512 and m.middle[2][0].out_channels == 1024
    assert m.upsample.conv[0].out_channels == 96 * 4  # PixelShuffle_ICNR 96 @ H
    assert m.cross[0][0].in_channels == 99  # 96 + 3 input channels (B5)
    assert m.head[0].in_channels == 99 and m.head[0].out_channels == 3


def test_parameter_count_matches_fastai_2_8():
    m = _unet("resnet34", (128, 128), norm_type="weight", blur=True, self_attention=True,
              y_range=(-3.0, 3.0))
    assert sum(p.numel() for p in m.parameters()) == 41_413_534


def test_last_cross_uses_real_input_channels():
    m = _unet("resnet18", (32, 32), in_channels=1)
    assert m.cross[0][0].in_channels == m.head[0].in_channels == 96 + 1


def test_encoder_must_be_sequential():
    with pytest.raises(ValueError, match="nn.Sequential"):
        DynamicUnet(torchvision.models.resnet18(), 3, (32, 32))


def test_splitter_three_groups_cover_every_parameter():
    m = _unet("resnet34", (64, 64))
    groups = unet_splitter(m)
    assert len(groups) == 3
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) == len(list(m.parameters()))
    layer3 = {id(p) for p in m.encoder[6].parameters()}
    assert layer3 <= {id(p) for p in groups[1]}
    assert {id(p) for p in m.encoder[5].parameters()} <= {id(p) for p in groups[0]}


class _TinyImageData:
    c = 3

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(4, 3, 32, 32, generator=g)
        self.train_dl = self.valid_dl = TensorBatches(x, x.clone(), bs=4, shuffle=False)

    def one_batch(self):
        return self.x_y()

    def x_y(self):
        return next(iter(self.train_dl))


def test_unet_learner_frozen_encoder_trainable_bn(tmp_path):
    weights = tmp_path / "r18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    learn = unet_learner(_TinyImageData(), "resnet18", weights_path=weights, norm_type="weight",
                         path=tmp_path, device="cpu", progress=False)
    m = learn.model
    assert len(learn.layer_groups) == 3
    assert not m.encoder[0].weight.requires_grad           # frozen conv
    assert m.encoder[1].weight.requires_grad                # BatchNorm stays trainable
    assert all(p.requires_grad for p in m.middle.parameters())
    before = m.encoder[0].weight.detach().clone()
    learn.fit(1, lr=1e-3)
    assert torch.equal(before, m.encoder[0].weight)
    learn.unfreeze()
    assert m.encoder[0].weight.requires_grad


def test_tiny_unet_overfits_one_batch():
    torch.manual_seed(0)
    m = DynamicUnet(_tiny_encoder(), 3, (32, 32), norm_type="weight")
    x = torch.rand(2, 3, 32, 32)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    losses = []
    for _ in range(40):
        loss = (m(x) - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# -- encoders ------------------------------------------------------------------------------------
def test_unknown_arch_is_a_value_error():
    with pytest.raises(ValueError, match="unknown encoder arch 'resnet9'"):
        create_encoder("resnet9", pretrained=False)


def test_pth_weights_file_loads_and_wrong_arch_fails_clearly(tmp_path):
    ref = torchvision.models.resnet18()
    path = tmp_path / "w.pth"
    torch.save(ref.state_dict(), path)
    enc = create_encoder("resnet18", weights_path=path)
    assert torch.equal(enc[0].weight, ref.conv1.weight)
    with pytest.raises(ValueError, match="does not fit a resnet34 encoder"):
        create_encoder("resnet34", weights_path=path)


def test_one_channel_encoder_sums_rgb_filters(tmp_path):
    ref = torchvision.models.resnet18()
    path = tmp_path / "w.pth"
    torch.save(ref.state_dict(), path)
    enc = create_encoder("resnet18", weights_path=path, in_channels=1)
    assert enc[0].in_channels == 1
    torch.testing.assert_close(enc[0].weight, ref.conv1.weight.sum(1, keepdim=True))


def test_offline_without_weights_suggests_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty hub cache
    monkeypatch.setenv("LESSON7_OFFLINE", "1")
    with pytest.raises(PretrainedWeightsUnavailable, match="--no-pretrained.*--encoder-weights"):
        create_encoder("resnet34", pretrained=True)


@pytest.mark.realdata
@pytest.mark.slow
def test_shared_vgg16_trunk_is_a_pretrained_encoder():
    path = SHARED / "weights" / "vgg16_features.safetensors"
    if not path.is_file():
        pytest.skip("../shared/weights absent")
    enc = create_encoder("vgg16", weights_path=path)
    from safetensors.torch import load_file

    sd = load_file(str(path))
    assert torch.equal(enc[0].weight, sd["features.0.weight"])
    assert torch.equal(enc[28].weight, sd["features.28.weight"])
    m = DynamicUnet(enc, 3, (32, 32), norm_type="weight")
    assert m(torch.randn(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    assert load_tv_model("vgg16", weights_path=path).features[0].weight.shape == (64, 3, 3, 3)


@pytest.mark.parametrize("norm", ["weight", None])
def test_identity_init_passes_the_input_through_and_still_learns(norm):
    from lesson7.models.encoders import create_encoder
    from lesson7.models.unet import DynamicUnet

    torch.manual_seed(0)
    m = DynamicUnet(create_encoder("resnet18", pretrained=False), 3, (32, 48), blur=True,
                    self_attention=True, y_range=None, norm_type=norm).init_identity_()
    x = torch.randn(2, 3, 32, 48)
    out = m(x)
    assert torch.allclose(out, x, atol=1e-6)
    # Not a dead network: the head and the zeroed conv get gradients at once, and after one
    # step the decoder and the encoder do too.
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    target = torch.randn_like(x)
    (out - target).pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.head.parameters()
               if p.dim() > 1)
    opt.step()
    opt.zero_grad()
    (m(x) - target).pow(2).mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.encoder.parameters())


def test_identity_init_refuses_a_sigmoid_range():
    from lesson7.models.encoders import create_encoder
    from lesson7.models.unet import DynamicUnet

    m = DynamicUnet(create_encoder("resnet18", pretrained=False), 3, (32, 32), y_range=(-3, 3),
                    norm_type="weight")
    with pytest.raises(ValueError, match="y_range"):
        m.init_identity_()
