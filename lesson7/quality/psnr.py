"""PSNR on RGB and on the luma (Y) channel with `shave` border pixels removed.

The super-resolution literature scores the Y channel of YCbCr (ITU-R BT.601, as MATLAB's
`rgb2ycbcr`) after shaving `scale` pixels from each border; RGB PSNR is typically 1.4-1.6 dB
lower, so the two are reported separately. Images are float tensors in [0, 1], shaped
(C, H, W) or (B, C, H, W); results are per image (B,), averaged by the caller.
Refs: EDSR `src/utility.py calc_psnr`; RCAN `Evaluate_PSNR_SSIM.m`.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["rgb_to_y", "shave", "psnr", "psnr_y"]

# BT.601 luma for RGB in [0, 1] -> Y in [16/255, 235/255] (MATLAB rgb2ycbcr, divided by 255).
_Y_COEFFS = (65.481 / 255, 128.553 / 255, 24.966 / 255)
_Y_OFFSET = 16 / 255


def _batched(x: Tensor) -> Tensor:
    if x.dim() == 3:
        return x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"expected a (C, H, W) or (B, C, H, W) image, got shape {tuple(x.shape)}")
    return x


def _check_pair(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    pred, target = _batched(pred).double(), _batched(target).double()
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} "
                         f"differ in shape")
    return pred, target


def rgb_to_y(x: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) BT.601 luma in [0, 1]; 1-channel input passes."""
    x = _batched(x)
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"rgb_to_y needs 1 or 3 channels, got {x.shape[1]}")
    w = torch.tensor(_Y_COEFFS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True) + _Y_OFFSET


def shave(x: Tensor, border: int) -> Tensor:
    """Drop `border` pixels from each side of the last two dims."""
    if border < 0:
        raise ValueError(f"shave border must be >= 0, got {border}")
    if border == 0:
        return x
    if min(x.shape[-2:]) <= 2 * border:
        raise ValueError(f"cannot shave {border} px from a {tuple(x.shape[-2:])} image")
    return x[..., border:-border, border:-border]


def psnr(pred: Tensor, target: Tensor, shave_border: int = 0, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image, over all channels: 10·log10(range² / MSE)."""
    pred, target = _check_pair(pred, target)
    pred, target = shave(pred, shave_border), shave(target, shave_border)
    mse = ((pred - target) ** 2).flatten(1).mean(dim=1)          # (B,)
    return 10 * torch.log10(data_range**2 / mse.clamp_min(1e-12))  # identical images: ~120 dB


def psnr_y(pred: Tensor, target: Tensor, shave_border: int = 0) -> Tensor:
    """PSNR on the BT.601 Y channel after shaving `shave_border` pixels (the SR convention)."""
    pred, target = _check_pair(pred, target)
    return psnr(rgb_to_y(pred), rgb_to_y(target), shave_border)
