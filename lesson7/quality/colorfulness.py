"""Colourfulness (Hasler & Süsstrunk 2003), the metric colorization papers report beside PSNR.

On the opponent channels rg = R - G and yb = (R + G) / 2 - B of an 8-bit image,
    M = sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²),
with means and standard deviations over the image's pixels. A grey image scores 0; the paper
calls ~33 "moderately", ~45 "averagely" and ~59 "quite" colourful. It rewards colour regardless
of whether it is right, so it is read beside a fidelity metric, never alone (colorizers trained
on pixel losses are known to be washed out: Zhang et al. 2016, arXiv:1603.08511).
Ref: D. Hasler, S. Süsstrunk, "Measuring colourfulness in natural images", Proc. SPIE 5007, 2003.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["colorfulness"]


def colorfulness(images: Tensor) -> Tensor:
    """Hasler & Süsstrunk's M per image, (B,), for RGB in [0, 1], (3, H, W) or (B, 3, H, W).

    Computed on the 0-255 scale the paper's values refer to (population standard deviation).
    """
    x = images.unsqueeze(0) if images.dim() == 3 else images
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"colorfulness needs RGB images (B, 3, H, W), got {tuple(images.shape)}")
    x = x.double().flatten(2) * 255                               # (B, 3, H*W)
    r, g, b = x.unbind(1)
    rg, yb = r - g, (r + g) / 2 - b                               # (B, H*W) each
    std = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1) ** 2 + yb.mean(1) ** 2).sqrt()
    return std + 0.3 * mean
