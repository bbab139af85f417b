"""Image quality metrics: PSNR (RGB and Y), SSIM, LPIPS; for colorization also colourfulness
(Hasler & Süsstrunk) and an FID-style distance on EfficientNet-Lite0 features
(`lesson7.quality.feature_distance`, imported on demand: it loads a classifier)."""

from lesson7.quality.colorfulness import colorfulness
from lesson7.quality.lpips_metric import LPIPS
from lesson7.quality.psnr import psnr, psnr_y, rgb_to_y, shave
from lesson7.quality.ssim import gaussian_window, ssim, ssim_y

__all__ = ["LPIPS", "colorfulness", "psnr", "psnr_y", "rgb_to_y", "shave", "ssim", "ssim_y",
           "gaussian_window"]
