"""Toy "photos" generated on the spot, so the restoration and GAN demos run offline with nothing
downloaded: smooth colour gradients with ellipses, rectangles and lines of random colours.

They are not photographs: numbers measured on them show that a pipeline works, not how well it
restores real images (benchmarks/ use Set5, BSD100 and the Pet sample for that).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lesson7.train.checkpoint import atomic_path


def toy_scene(size: int, rng: np.random.Generator) -> Image.Image:
    """One size×size RGB scene."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) % 1.0
    bg = (c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]).astype(np.uint8)
    img = Image.fromarray(bg, "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(3, 8)):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 10, size // 2, 2)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(0, 3)
        box = [int(x0), int(y0), int(x0 + w), int(y0 + h)]
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.line(box, fill=colour, width=int(rng.integers(1, 4)))
    return img.filter(ImageFilter.SMOOTH)


def make_toy_scenes(folder: str | Path, n: int = 48, size: int = 96, seed: int = 0) -> Path:
    """Write `n` scenes as PNGs into `folder` (kept if already there); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = toy_scene(size, rng)
        target = folder / f"scene_{i:03d}.png"
        if not target.exists():
            with atomic_path(target) as tmp:
                img.save(tmp, format="PNG")
    return folder
