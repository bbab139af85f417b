"""Image quality metrics for restoration: PSNR (RGB and Y), SSIM, LPIPS."""

from lesson7.quality.lpips_metric import LPIPS
from lesson7.quality.psnr import psnr, psnr_y, rgb_to_y, shave
from lesson7.quality.ssim import gaussian_window, ssim, ssim_y

__all__ = ["LPIPS", "psnr", "psnr_y", "rgb_to_y", "shave", "ssim", "ssim_y", "gaussian_window"]
