"""FID-style distance on pooled ImageNet EfficientNet-Lite0 features."""

import pytest
import torch

from lesson7.quality.feature_distance import feature_distance, lite0_features


@pytest.fixture(scope="module")
def features():
    torch.manual_seed(0)
    return lite0_features()


def _photos(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth random colour fields: low-res noise upsampled
    low = torch.rand(n, 3, 4, 4, generator=g)
    return torch.nn.functional.interpolate(low, size=48, mode="bilinear", align_corners=False)


def test_features_are_pooled_1280_d(features):
    assert features(_photos(2)).shape == (2, 1280)


def test_a_set_has_distance_zero_to_itself_and_the_distance_is_symmetric(features):
    a, b = _photos(seed=0), _photos(seed=1)
    d_ab = feature_distance([a], [b], features)
    assert d_ab > 0
    # zero up to float error (rank-deficient covariances: 12 images, 1280 features)
    assert abs(feature_distance([a], [a], features)) < 1e-5 * d_ab
    assert feature_distance([b], [a], features) == pytest.approx(d_ab, rel=1e-5)


def test_removing_the_colour_moves_a_set_away(features):
    a = _photos(seed=0)
    grey = a.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    other = _photos(seed=1)  # other images, same kind
    assert feature_distance([grey], [a], features) > 0
    assert feature_distance([grey], [a], features) > feature_distance([a[:6], a[6:]], [a], features)
    assert feature_distance([grey], [other], features) > feature_distance([a], [other], features)
