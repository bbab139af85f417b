"""A tiny colorizer written to a temporary run folder (random weights, no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

TINY = dict(encoder_depth=5, img_size=(32, 32), render_size=32)
"""Lite0 stem + stages 1-4 (1/16, three skips: self-attention is in), random weights."""


@pytest.fixture(scope="module")
def tiny_colorizer_run(tmp_path_factory) -> Path:
    from lesson7.colorize.colorizer import Colorizer, ColorizerConfig, build_colorizer

    torch.manual_seed(0)
    cfg = ColorizerConfig(**TINY)
    run = tmp_path_factory.mktemp("tiny_colorizer") / "run"
    Colorizer(build_colorizer(cfg), cfg).save(run / "model")
    return run


def colour_photo(w: int = 48, h: int = 40, seed: int = 0) -> Image.Image:
    """Smooth colour gradients with a little noise: every pixel has chroma."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w, y / h, 0.5 + 0.5 * np.sin(x / 5.0 + seed)], -1) * 220 + 15
    return Image.fromarray(np.clip(base + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8))


def grey_photo(w: int = 48, h: int = 40, seed: int = 0) -> Image.Image:
    return colour_photo(w, h, seed).convert("L")
