"""The colorizer: a Dynamic U-Net that predicts only colour (chroma) for a grey photo.

DeOldify (jantic/DeOldify, `deoldify/generators.py`: `unet_learner_wide`, self-attention,
spectral norm) predicts RGB from the grey image and, when it saves, keeps only the colour of
the prediction and the luminance of the original photo (`deoldify/filters.py`,
`_post_process`). Here the model says so itself: the U-Net's two outputs are the YCbCr chroma
(Cb, Cr; ITU-R BT.601 full range, as JPEG) and the luminance Y is read from the grey input.
`forward` recombines them into RGB, so a pixel loss and a VGG feature loss train it as any
restoration model, and the photo's luminance cannot be changed by the model at all.

Colours outside the RGB cube: a (Y, Cb, Cr) triple can ask for R, G or B outside [0, 1].
Clipping the channels would change the luminance; instead the chroma is shrunk toward grey
just enough to fit (`chroma_to_rgb`), which keeps Y exactly (a line from the grey point
(Y, Y, Y), inside the cube, keeps Y = 0.299 R + 0.587 G + 0.114 B fixed).

The encoder is cut short: EfficientNet-Lite0 up to stage 5 (112 channels at 1/16) keeps the
colorizer at ~1.6 M parameters (stages 6-7 alone hold ~2.2 M, the 1280-channel head 0.4 M), so
the shipped fp16 file stays small. Refs: DeOldify (Antic 2018); Zhang et al. 2016 (Colorful
Image Colorization, arXiv:1603.08511: predict chroma, keep lightness); Miyato et al. 2018
(spectral normalization, arXiv:1802.05957); ITU-R BT.601 / JFIF (YCbCr).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lesson7.models.layers import NormType
from lesson7.models.unet import DynamicUnet, Size

__all__ = ["KR", "KB", "luma", "rgb_to_chroma", "chroma_to_rgb", "ChromaUnet", "chroma_unet_splitter"]

KR, KB = 0.299, 0.114
"""BT.601 luma weights of R and B (G gets 1 - KR - KB = 0.587), as PIL's "L" and JPEG."""
_CR_R = 2 * (1 - KR)                      # 1.402: R = Y + 1.402 Cr
_CB_B = 2 * (1 - KB)                      # 1.772: B = Y + 1.772 Cb
_CB_G = _CB_B * KB / (1 - KR - KB)        # 0.344136: G = Y - 0.344 Cb - 0.714 Cr
_CR_G = _CR_R * KR / (1 - KR - KB)        # 0.714136


def luma(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) BT.601 luma Y."""
    r, g, b = rgb.unbind(1)
    return (KR * r + (1 - KR - KB) * g + KB * b).unsqueeze(1)


def rgb_to_chroma(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 2, H, W) (Cb, Cr), each in [-0.5, 0.5]."""
    y = luma(rgb)
    return torch.cat([(rgb[:, 2:3] - y) / _CB_B, (rgb[:, 0:1] - y) / _CR_R], dim=1)


def chroma_to_rgb(y: Tensor, chroma: Tensor, eps: float = 1e-6) -> Tensor:
    """Luma (B, 1, H, W) in [0, 1] + chroma (B, 2, H, W) -> RGB (B, 3, H, W) in [0, 1] whose
    luma is exactly `y`: chroma that would leave the RGB cube is scaled toward grey to its edge."""
    cb, cr = chroma[:, 0:1], chroma[:, 1:2]
    d = torch.cat([_CR_R * cr, -_CB_G * cb - _CR_G * cr, _CB_B * cb], dim=1)  # RGB - Y
    y = y.clamp(0, 1)
    # Largest t <= 1 with 0 <= y + t*d <= 1 in every channel: (1 - y)/d up, y/(-d) down.
    room = torch.where(d > 0, (1 - y) / d.clamp(min=eps), y / (-d).clamp(min=eps))
    room = torch.where(d.abs() > eps, room, torch.ones_like(room))
    t = room.amin(dim=1, keepdim=True).clamp(max=1.0)                   # (B, 1, H, W)
    return (y + t * d).clamp(0, 1)  # the clamp only trims float rounding


class ChromaUnet(nn.Module):
    """DynamicUnet (2 outputs: Cb, Cr in +-`chroma_range`) on ImageNet-normalised grey RGB.

    `forward(x)` returns the ImageNet-normalised RGB of (the input's Y, the predicted chroma),
    so losses compare it with the normalised colour photo; `chroma(x)` returns the chroma only
    (what `Colorizer` upsamples onto a full-resolution photo).
    """

    def __init__(self, encoder: nn.Sequential, img_size: Size = (64, 64), blur: bool = True,
                 self_attention: bool = True, norm_type: NormType = "spectral",
                 chroma_range: float = 0.5,
                 mean: tuple[float, ...] = (0.485, 0.456, 0.406),
                 std: tuple[float, ...] = (0.229, 0.224, 0.225)) -> None:
        super().__init__()
        self.unet = DynamicUnet(encoder, 2, img_size, blur=blur, self_attention=self_attention,
                                y_range=(-chroma_range, chroma_range), last_cross=True,
                                norm_type=norm_type)
        if self.unet.in_channels != 3:
            raise ValueError(f"the colorizer reads grey RGB (3 channels), the encoder takes "
                             f"{self.unet.in_channels}")
        # Not persistent: fixed by the config, not learnt, and kept out of the weights file.
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def chroma(self, x: Tensor) -> Tensor:                 # x: (B, 3, H, W) normalised grey
        return self.unet(x)                                # (B, 2, H, W) Cb, Cr

    def forward(self, x: Tensor) -> Tensor:               # x: (B, 3, H, W) normalised grey
        y = luma(x * self.std + self.mean)                # (B, 1, H, W) in [0, 1]
        rgb = chroma_to_rgb(y, self.chroma(x).float())    # (B, 3, H, W), luma == y
        return (rgb - self.mean) / self.std               # normalised, as the target


def chroma_unet_splitter(model: ChromaUnet) -> list[list[nn.Parameter]]:
    """The U-Net's three layer groups (`unet_splitter`): freeze() trains the decoder only."""
    from lesson7.models.unet import unet_splitter

    return unet_splitter(model.unet)
