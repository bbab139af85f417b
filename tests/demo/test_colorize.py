"""The colorize stage's colourfulness (Hasler & Süsstrunk 2003) and its no-colorizer path."""

import numpy as np
from PIL import Image

from lesson7.demo.colorize import colourfulness, find_shipped_colorizer


def test_grey_scores_zero_and_saturated_colour_scores_high():
    grey = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32), np.uint8)).convert("RGB")
    assert colourfulness(grey) == 0.0
    half = np.zeros((32, 32, 3), np.uint8)
    half[:, :16] = (255, 0, 0)
    half[:, 16:] = (0, 0, 255)
    # rg: 255 / 0 (std 127.5, mean 127.5); yb: 127.5 / -255 (std 191.25, mean -63.75)
    want = np.hypot(127.5, 191.25) + 0.3 * np.hypot(127.5, -63.75)
    assert abs(colourfulness(Image.fromarray(half)) - want) < 1e-9


def test_without_a_shipped_colorizer_the_reason_is_given():
    path, why = find_shipped_colorizer()
    assert (path is None) == (why is not None)
    if path is None:
        assert why.startswith("no shipped colorizer installed")
