"""A super-resolution U-Net that works at the low-resolution input and upsamples at the end.

The lesson's restorer bicubic-upsamples first and runs the whole Dynamic U-Net at the output
size; here the U-Net runs on the small input (1/scale² of the pixels, so ×4 costs 1/16 of the
convolutions) and a pixel-shuffle tail (ICNR init, Aitken et al. 2017, arXiv:1707.02937) enlarges
its features, as ESPCN (Shi et al. 2016, arXiv:1609.05158) and Real-ESRGAN do. The output is a
residual on the bicubic upsampling of the input, and the last conv starts at zero, so an
untrained model is exactly bicubic (VDSR's residual idea, Kim et al. 2016).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from lesson7.models.layers import NormType, PixelShuffle_ICNR
from lesson7.models.unet import DynamicUnet, Size

__all__ = ["SRUnet", "sr_unet_splitter"]


class SRUnet(nn.Module):
    """DynamicUnet on the low-resolution input -> pixel-shuffle ×scale -> RGB residual.

    Args:
        encoder: conv trunk (e.g. `create_encoder("efficientnet_lite0")`).
        scale: output size / input size, a power of two (2, 4).
        features: channels of the U-Net's output and of the upsampling tail.
        img_size: (H, W) of the low-resolution input used to probe the encoder.
    """

    def __init__(self, encoder: nn.Sequential, scale: int = 4, features: int = 32,
                 img_size: Size = (64, 64), blur: bool = True, self_attention: bool = True,
                 norm_type: NormType = "weight") -> None:
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"scale must be a power of two >= 2, got {scale}")
        self.scale = scale
        self.unet = DynamicUnet(encoder, features, img_size, blur=blur,
                                self_attention=self_attention, y_range=None, last_cross=True,
                                norm_type=norm_type)
        self.tail = nn.Sequential(*[PixelShuffle_ICNR(features, features, 2, blur=blur,
                                                      norm_type=norm_type)
                                    for _ in range(int(math.log2(scale)))])
        in_ch = self.unet.in_channels
        self.to_image = nn.Conv2d(features, in_ch, kernel_size=3, padding=1)
        nn.init.zeros_(self.to_image.weight)  # untrained: exactly the bicubic upsampling
        nn.init.zeros_(self.to_image.bias)

    def forward(self, x: Tensor) -> Tensor:            # x: (B, C, h, w), normalised
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic",
                             align_corners=False)     # (B, C, h*s, w*s)
        feats = self.tail(self.unet(x))               # (B, features, h*s, w*s)
        return base + self.to_image(feats)            # (B, C, h*s, w*s)


def sr_unet_splitter(model: SRUnet) -> list[list[nn.Parameter]]:
    """The U-Net's three layer groups (`unet_splitter`), with the upsampling tail in the last."""
    from lesson7.models.unet import unet_splitter

    groups = unet_splitter(model.unet)
    groups[-1] += [*model.tail.parameters(), *model.to_image.parameters()]
    return groups
