"""Colourfulness (Hasler & Süsstrunk 2003): hand-computed values and the paper's formula."""

import numpy as np
import pytest
import torch

from lesson7.quality import colorfulness


def test_a_grey_image_has_colorfulness_zero():
    grey = torch.rand(1, 8, 8).expand(3, 8, 8)
    assert colorfulness(grey).item() == pytest.approx(0.0, abs=1e-9)


def test_a_flat_pure_red_image_scores_only_the_mean_term():
    red = torch.zeros(3, 4, 4)
    red[0] = 1.0  # rg = 255, yb = 127.5 everywhere: no spread
    assert colorfulness(red).item() == pytest.approx(0.3 * np.hypot(255, 127.5))  # 85.53


def test_a_red_green_image_scores_the_spread_and_the_mean():
    img = torch.zeros(3, 1, 2)
    img[0, 0, 0] = 1.0  # one red pixel: rg = 255, yb = 127.5
    img[1, 0, 1] = 1.0  # one green pixel: rg = -255, yb = 127.5
    # sigma_rg = 255, sigma_yb = 0, mu_rg = 0, mu_yb = 127.5
    assert colorfulness(img).item() == pytest.approx(255 + 0.3 * 127.5)


def test_matches_the_formula_on_random_images_per_image():
    x = torch.rand(3, 3, 5, 7)
    got = colorfulness(x)
    for img, value in zip(x, got, strict=True):
        r, g, b = (img.double().numpy() * 255)
        rg, yb = r - g, (r + g) / 2 - b
        want = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        assert value.item() == pytest.approx(want)


def test_more_saturated_means_more_colourful():
    img = torch.rand(3, 16, 16)
    grey = img.mean(0, keepdim=True)
    half = grey + 0.5 * (img - grey)
    values = colorfulness(torch.stack([grey.expand(3, -1, -1), half, img]))
    assert values[0] < values[1] < values[2]


def test_non_rgb_input_is_refused():
    with pytest.raises(ValueError, match="RGB"):
        colorfulness(torch.rand(1, 8, 8))
