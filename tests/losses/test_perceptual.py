"""FeatureLoss: zero for identical images, same named layers in VGG16 and VGG16-BN, the
lesson's weights, Gram matrices, per-term metrics; the staged VGG16 trunk loads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torchvision

from lesson7.losses import (
    FeatureLoss,
    L1LossFlat,
    MSELossFlat,
    component_metrics,
    gram_matrix,
    load_vgg_features,
    vgg_layer_names,
)

SHARED = Path(os.environ.get("LESSON7_SHARED",
                            Path(__file__).resolve().parents[2] / ".." / "shared"))
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def vgg16_features():
    torch.manual_seed(0)
    return torchvision.models.vgg16().features


def test_layer_names_pick_the_lessons_indices():
    bn = vgg_layer_names(torchvision.models.vgg16_bn().features)
    plain = vgg_layer_names(torchvision.models.vgg16().features)
    layers = ("relu3_3", "relu4_3", "relu5_3")
    assert [bn.index(n) for n in layers] == [22, 32, 42]  # the notebook's blocks[2:5]
    assert [plain.index(n) for n in layers] == [15, 22, 29]
    assert bn[23] == plain[16] == "pool3"


def test_same_named_layers_in_vgg16_and_vgg16_bn():
    a = FeatureLoss(torchvision.models.vgg16().features)
    b = FeatureLoss(torchvision.models.vgg16_bn().features)
    for loss in (a, b):
        kinds = [type(loss.features[i]).__name__ for i in loss.layer_idxs]
        assert kinds == ["ReLU"] * 3
    x = torch.randn(1, 3, 32, 32)
    fa, fb = a.make_features(x), b.make_features(x)
    assert [f.shape for f in fa] == [f.shape for f in fb] == [
        (1, 256, 8, 8), (1, 512, 4, 4), (1, 512, 2, 2)]


def test_zero_for_identical_images(vgg16_features):
    loss = FeatureLoss(vgg16_features)
    x = torch.randn(2, 3, 32, 32)
    assert loss(x, x.clone()).item() == 0.0


def test_terms_weights_and_sum(vgg16_features):
    loss = FeatureLoss(vgg16_features)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2, 3, 32, 32, generator=g), torch.randn(2, 3, 32, 32, generator=g)
    total = loss(x, y)
    c = loss.components
    assert list(c) == ["pixel", "feat_0", "feat_1", "feat_2", "gram_0", "gram_1", "gram_2"]
    torch.testing.assert_close(total.detach(), sum(c.values()))
    torch.testing.assert_close(c["pixel"], (x - y).abs().mean())
    fx, fy = loss.make_features(x), loss.make_features(y)
    for i, w in enumerate([5, 15, 2]):
        torch.testing.assert_close(c[f"feat_{i}"], (fx[i] - fy[i]).abs().mean() * w)
        gram = (gram_matrix(fx[i]) - gram_matrix(fy[i])).abs().mean() * 5e3 * w**2
        torch.testing.assert_close(c[f"gram_{i}"], gram, rtol=1e-4, atol=1e-6)


def test_gram_matrix_definition():
    x = torch.randn(2, 4, 3, 5)
    flat = x.reshape(2, 4, 15)
    expected = torch.einsum("nci,ndi->ncd", flat, flat) / (4 * 3 * 5)
    torch.testing.assert_close(gram_matrix(x), expected)


def test_gradient_flows_to_prediction_not_vgg(vgg16_features):
    loss = FeatureLoss(vgg16_features)
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    loss(x, torch.randn(1, 3, 32, 32)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.features.parameters())
    loss.train()
    assert not loss.features.training  # BN statistics of the loss network never move


def test_component_metrics_reuse_last_batch_and_recompute_otherwise(vgg16_features):
    loss = FeatureLoss(vgg16_features)
    metrics = component_metrics(loss)
    assert [m.__name__ for m in metrics] == loss.metric_names
    x, y = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    loss(x, y)
    cached = {m.__name__: m(x, y) for m in metrics}
    x2 = torch.randn(2, 3, 32, 32)
    feat_1 = metrics[loss.metric_names.index("feat_1")]
    fresh = feat_1(x2, y)  # a different batch: recomputed
    loss(x2, y)
    torch.testing.assert_close(fresh, loss.components["feat_1"])
    assert not torch.equal(fresh, cached["feat_1"])


def test_unknown_layer_name_is_a_value_error(vgg16_features):
    with pytest.raises(ValueError, match="relu6_1"):
        FeatureLoss(vgg16_features, layers=("relu6_1",), layer_weights=(1.0,))
    with pytest.raises(ValueError, match="layer_weights"):
        FeatureLoss(vgg16_features, layer_weights=(1.0,))


def test_pixel_losses_flatten():
    p, t = torch.zeros(2, 3, 4, 4), torch.ones(2, 48)
    assert MSELossFlat()(p, t).item() == 1.0
    assert L1LossFlat()(p, 2 * t).item() == 2.0
    with pytest.raises(ValueError, match="different sizes"):
        MSELossFlat()(p, torch.ones(3))


@pytest.mark.realdata
def test_shared_vgg16_file_drives_the_feature_loss():
    path = SHARED / "weights" / "vgg16_features.safetensors"
    if not path.is_file():
        pytest.skip("../shared/weights absent")
    features, arch = load_vgg_features(weights_path=path)
    assert arch == "vgg16"
    loss = FeatureLoss(features)
    x = torch.rand(1, 3, 48, 48)
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert loss(x, x).item() == 0.0
    assert loss(blurred, x).item() > 0


def test_bf16_predictions_meet_an_fp32_trunk(vgg16_features):
    # Under bf16 autocast a generator hands over bf16 images; the loss runs its fp32 trunk with
    # autocast off (no bf16 features or Gram products) and agrees with the fp32 computation.
    loss = FeatureLoss(vgg16_features)
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    xb = x.to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = loss(xb, y)
        feats = loss.make_features(xb)
    assert all(f.dtype == torch.float32 for f in feats)
    torch.testing.assert_close(got, FeatureLoss(vgg16_features)(xb.float(), y))
