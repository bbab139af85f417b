"""SSIM (Wang et al. 2004) with the reference settings: 11×11 Gaussian window, σ = 1.5,
K1 = 0.01, K2 = 0.03, 'valid' filtering (no padding) as MATLAB `ssim_index.m` and the SR
literature; averaged over channels then pixels. Images in [0, 1], (C, H, W) or (B, C, H, W).
Ref: Wang, Bovik, Sheikh, Simoncelli 2004, "Image quality assessment: from error visibility to
structural similarity", IEEE TIP 13(4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lesson7.quality.psnr import _check_pair, rgb_to_y, shave

__all__ = ["gaussian_window", "ssim", "ssim_y"]


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> Tensor:
    """Normalised (size, size) Gaussian."""
    coords = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(pred: Tensor, target: Tensor, shave_border: int = 0, data_range: float = 1.0,
         win_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """Mean SSIM per image (B,)."""
    pred, target = _check_pair(pred, target)
    pred, target = shave(pred, shave_border), shave(target, shave_border)
    if min(pred.shape[-2:]) < win_size:
        raise ValueError(f"SSIM needs images of at least {win_size}×{win_size} px, "
                         f"got {tuple(pred.shape[-2:])}")
    c = pred.shape[1]
    win = gaussian_window(win_size, sigma).to(pred).expand(c, 1, win_size, win_size)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, win, groups=c)  # 'valid': (B, C, H-10, W-10)

    mu_x, mu_y = blur(pred), blur(target)
    var_x = blur(pred * pred) - mu_x**2
    var_y = blur(target * target) - mu_y**2
    cov = blur(pred * target) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)
                / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)))
    return ssim_map.flatten(1).mean(dim=1)


def ssim_y(pred: Tensor, target: Tensor, shave_border: int = 0) -> Tensor:
    """SSIM on the BT.601 Y channel after shaving `shave_border` pixels (the SR convention)."""
    pred, target = _check_pair(pred, target)
    return ssim(rgb_to_y(pred), rgb_to_y(target), shave_border)
