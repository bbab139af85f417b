"""A super-resolution U-Net that works at the low-resolution input and upsamples at the end.

The lesson's restorer bicubic-upsamples first and runs the whole Dynamic U-Net at the output
size; here the U-Net runs on the small input (1/scale² of the pixels, so ×4 costs 1/16 of the
convolutions) and a pixel-shuffle tail (ICNR init, Aitken et al. 2017, arXiv:1707.02937) enlarges
its features, as ESPCN (Shi et al. 2016, arXiv:1609.05158) and Real-ESRGAN do. The output is a
residual on the bicubic upsampling of the input, and the last conv starts at zero, so an
untrained model is exactly bicubic (VDSR's residual idea, Kim et al. 2016).

For x1 and x2, Real-ESRGAN (Wang et al. 2021, `RRDBNet`'s `pixel_unshuffle`) folds each d x d
block of pixels into channels first, so the same network runs at 1/d of the size and its
pixel-shuffle tail returns to full size: `unshuffle=2, scale=1` is a x1 restorer whose U-Net sees
a quarter of the pixels. The folded channels are ordered block-position-major (RGB of the
top-left pixel, RGB of the next, ...), so the encoder's RGB filters, tiled over them by
`create_encoder(in_channels=...)`, start as a box downscale followed by the ImageNet stem.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from lesson7.models.layers import NormType, PixelShuffle_ICNR
from lesson7.models.unet import DynamicUnet, Size

__all__ = ["SRUnet", "fold_blocks", "sr_unet_splitter"]


class SRUnet(nn.Module):
    """[pixel-unshuffle ÷d ->] DynamicUnet -> pixel-shuffle ×(scale·d) -> RGB residual.

    Args:
        encoder: conv trunk (e.g. `create_encoder("efficientnet_lite0")`) taking C·d² channels
            for a C-channel image.
        scale: output size / input size, a power of two (1, 2, 4); 1 needs `unshuffle` > 1.
        features: channels of the U-Net's output and of the upsampling tail.
        img_size: (H, W) of the model's input used to probe the encoder.
        unshuffle: d, a power of two: the U-Net runs on the input folded d x d into channels.
    """

    def __init__(self, encoder: nn.Sequential, scale: int = 4, features: int = 32,
                 img_size: Size = (64, 64), blur: bool = True, self_attention: bool = True,
                 norm_type: NormType = "weight", unshuffle: int = 1) -> None:
        super().__init__()
        for name, v in (("scale", scale), ("unshuffle", unshuffle)):
            if v < 1 or v & (v - 1):
                raise ValueError(f"{name} must be a power of two >= 1, got {v}")
        if scale * unshuffle < 2:
            raise ValueError("an SRUnet upsamples: scale 1 needs unshuffle >= 2 "
                             "(use DynamicUnet for a same-size model)")
        self.scale, self.unshuffle = scale, unshuffle
        unet_size = tuple(-(-n // unshuffle) for n in img_size)
        self.unet = DynamicUnet(encoder, features, unet_size, blur=blur,
                                self_attention=self_attention, y_range=None, last_cross=True,
                                norm_type=norm_type)
        self.tail = nn.Sequential(*[PixelShuffle_ICNR(features, features, 2, blur=blur,
                                                      norm_type=norm_type)
                                    for _ in range(int(math.log2(scale * unshuffle)))])
        if self.unet.in_channels % (unshuffle * unshuffle):
            raise ValueError(f"the encoder takes {self.unet.in_channels} channels, not a multiple "
                             f"of unshuffle² = {unshuffle * unshuffle}")
        in_ch = self.unet.in_channels // (unshuffle * unshuffle)
        self.to_image = nn.Conv2d(features, in_ch, kernel_size=3, padding=1)
        nn.init.zeros_(self.to_image.weight)  # untrained: exactly the bicubic upsampling
        nn.init.zeros_(self.to_image.bias)

    def forward(self, x: Tensor) -> Tensor:            # x: (B, C, h, w), normalised
        s, d = self.scale, self.unshuffle
        base = x if s == 1 else F.interpolate(x, scale_factor=s, mode="bicubic",
                                              align_corners=False)  # (B, C, h*s, w*s)
        h, w = x.shape[-2:]
        z = fold_blocks(x, d) if d > 1 else x         # (B, C*d², ceil(h/d), ceil(w/d))
        feats = self.tail(self.unet(z))               # (B, features, ceil(h/d)*d*s, ...)
        feats = feats[..., :h * s, :w * s]            # the padding's rows and columns off
        return base + self.to_image(feats)            # (B, C, h*s, w*s)


def fold_blocks(x: Tensor, d: int) -> Tensor:
    """(B, C, H, W) -> (B, d²·C, ceil(H/d), ceil(W/d)): each d x d block of pixels as channels,
    block position major (channel k·C + c is colour c of position k), the edge replicated to a
    multiple of d."""
    h, w = x.shape[-2:]
    x = F.pad(x, (0, (d - w % d) % d, 0, (d - h % d) % d), mode="replicate")
    # F.pixel_unshuffle with the channels reordered would do, but its ONNX export freezes the
    # output's height and width at the traced size; these reshapes keep them dynamic.
    b, c, h, w = x.shape
    z = x.reshape(b, c, h // d, d, w // d, d)         # (B, C, H/d, dy, W/d, dx)
    z = z.permute(0, 3, 5, 1, 2, 4)                   # (B, dy, dx, C, H/d, W/d)
    return z.reshape(b, d * d * c, h // d, w // d)


def sr_unet_splitter(model: SRUnet) -> list[list[nn.Parameter]]:
    """The U-Net's three layer groups (`unet_splitter`), with the upsampling tail in the last."""
    from lesson7.models.unet import unet_splitter

    groups = unet_splitter(model.unet)
    groups[-1] += [*model.tail.parameters(), *model.to_image.parameters()]
    return groups
