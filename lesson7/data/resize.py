"""Resize a tensor image to cover a size, then centre-crop it: the deterministic "fit to size".

Scope: float tensors, (C, H, W) or (N, C, H, W). The image is scaled by the smallest factor that
makes it cover ``size`` (bilinear, antialiased, ``align_corners=False``), so the aspect ratio is
kept, and the centre ``size`` window is cut out. This is the tensor twin of the PIL
``lesson7.data.images.resize_to_cover`` + centre crop that the loaders' validation transform uses
(fastai v1 ``crop_pad`` after a resize), so images prepared here match images loaded there.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["cover_crop"]


def cover_crop(x: Tensor, size: int | tuple[int, int], shrink: bool = True) -> Tensor:
    """Resize ``x`` to cover ``size`` = (h, w) keeping its aspect ratio, then centre-crop it.

    Args:
        x: float (C, H, W) or (N, C, H, W).
        size: the output (h, w); an int is a square.
        shrink: False never scales down (crop at the image's own resolution; only images
            smaller than ``size`` are enlarged).

    Returns:
        (C, h, w) or (N, C, h, w), same dtype.
    """
    if x.dim() not in (3, 4) or not x.is_floating_point():
        raise ValueError(f"cover_crop needs a float (C, H, W) or (N, C, H, W) tensor, "
                         f"got {x.dtype} of shape {tuple(x.shape)}")
    th, tw = (size, size) if isinstance(size, int) else size
    if th < 1 or tw < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    h, w = x.shape[-2:]
    scale = max(th / h, tw / w)
    if not shrink:
        scale = max(scale, 1.0)
    nh, nw = max(th, round(h * scale)), max(tw, round(w * scale))
    if (nh, nw) != (h, w):
        batch = x if x.dim() == 4 else x[None]                            # (N, C, H, W)
        batch = F.interpolate(batch, size=(nh, nw), mode="bilinear", antialias=True,
                              align_corners=False)                         # (N, C, nh, nw)
        x = batch if x.dim() == 4 else batch[0]
    top, left = (nh - th) // 2, (nw - tw) // 2
    return x[..., top:top + th, left:left + tw]                           # (..., C, th, tw)
