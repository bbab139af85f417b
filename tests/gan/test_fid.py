import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from lesson7.gan.fid import (
    ClassifierFeatures,
    classifier_fid,
    feature_stats,
    fid_from_features,
    frechet_distance,
)


def _scipy_fid(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(500, 8, generator=g) @ torch.randn(8, 8, generator=g)
    assert fid_from_features(feats, feats) == pytest.approx(0.0, abs=1e-6)
    fids = [fid_from_features(feats, feats + shift) for shift in (0.5, 1.0, 2.0)]
    # a mean shift of s in each of 8 dims adds exactly 8 s^2
    assert fids == pytest.approx([8 * 0.25, 8 * 1.0, 8 * 4.0], rel=1e-6)
    assert fid_from_features(feats, feats * 2) > 0.1


def test_frechet_distance_matches_scipy_sqrtm_and_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T + np.eye(6), b @ b.T + 0.5 * np.eye(6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = _scipy_fid(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    # 1-D Gaussians: (m1 - m2)^2 + (sd1 - sd2)^2
    d = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]]))
    assert d == pytest.approx(4.0 + 1.0)


def test_singular_covariances_stay_real_and_non_negative():
    feats = torch.randn(5, 20)  # n < d: rank-deficient covariance
    mu, sigma = feature_stats(feats)
    assert sigma.shape == (20, 20) and np.linalg.matrix_rank(sigma) <= 4
    assert fid_from_features(feats, torch.randn(5, 20)) >= 0
    with pytest.raises(ValueError, match="N >= 2"):
        feature_stats(torch.randn(1, 3))


def test_classifier_features_are_the_input_of_the_last_layer():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 10))
    fx = ClassifierFeatures(model, size=8, mean=[0.5], std=[0.25])
    imgs = torch.rand(3, 1, 16, 16) * 2 - 1
    feats = fx(imgs)
    assert feats.shape == (3, 4)
    x = torch.nn.functional.interpolate((imgs + 1) / 2, size=(8, 8), mode="bilinear",
                                        antialias=True)
    torch.testing.assert_close(feats, model[:4]((x - 0.5) / 0.25))
    assert not model[-1]._forward_pre_hooks  # the hook is removed


def test_classifier_fid_reports_real_vs_real_at_the_same_count():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))  # features: the 16 pixels in [0, 1]
    fx = ClassifierFeatures(model)
    real = [torch.rand(50, 1, 4, 4) * 2 - 1 for _ in range(2)]
    ref = [torch.rand(50, 1, 4, 4) * 2 - 1 for _ in range(2)]
    fake = [torch.full((30, 1, 4, 4), 0.9)]
    out = classifier_fid(fx, fake, real, ref)
    assert out["n_samples"] == 30
    # pixels in [0, 1]: real ~ U(0, 1) (Tr cov = 16/12), fake = 0.95 everywhere
    assert 0 < out["fid_real_vs_real"] < 16 / 12  # sampling noise only
    assert out["fid"] > 16 * 0.45**2 + 0.5 * 16 / 12  # mean shift + most of the real variance
