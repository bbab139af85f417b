"""A trained colorizer with its settings, and how it colours a photo of any size.

`ColorizerConfig` is everything that rebuilds the model; it is saved as the checkpoint's JSON
metadata (task "colorize"), so `Colorizer.load` needs no pretrained download and refuses a file
whose weights do not fit the model its JSON describes, naming the settings and the mismatch.

Colouring at a reduced render size (DeOldify's `render_factor`, jantic/DeOldify
`deoldify/filters.py`): the grey photo is resized so its short side is `render_size` px, the
model predicts chroma (Cb, Cr) there, and the chroma is upsampled (bilinear) onto the photo's
own full-resolution luminance. Colour carries little detail (the reason JPEG stores chroma at
half resolution), so the photo keeps all its sharpness, and the model's cost does not grow
with the photo. `colorize_rows` streams the result in bands of rows: beyond the decoded photo,
memory holds the small chroma map widened to the photo's width and one band, so a 100 MP
photo needs no 100 MP float arrays.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from lesson7.models.colorizer import ChromaUnet, chroma_to_rgb
from lesson7.models.encoders import create_encoder
from lesson7.train.saved_model import SavedModelKind, TrainedModel

__all__ = ["ColorizerConfig", "build_colorizer", "Colorizer", "resolve_colorizer",
           "render_dims", "TASK"]

TASK = "colorize"
RENDER_MULTIPLE = 16
"""Render sizes are rounded to a multiple of the encoder's stride (Lite0 cut at stage 5: 16)."""


@dataclass
class ColorizerConfig:
    """Everything needed to rebuild the colorizer (saved in the checkpoint metadata)."""

    arch: str = "efficientnet_lite0"
    encoder_depth: int = 6
    """Encoder children kept (Lite0: stem + stages 1-5, 112 channels at 1/16)."""
    img_size: tuple[int, int] = (64, 64)
    """Size the encoder is probed at to build the decoder (any size runs afterwards)."""
    blur: bool = True
    self_attention: bool = True
    norm_type: str | None = "spectral"
    """Decoder normalisation: spectral norm, as DeOldify's generator."""
    chroma_range: float = 0.5
    """Cb and Cr are squashed into +-this (0.5 spans every colour of the RGB cube)."""
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    render_size: int = 256
    """Short side, in px, the model colours at unless told otherwise (`--render-size`)."""

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> ColorizerConfig:
        known = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        if known.get("img_size") is not None:
            known["img_size"] = tuple(known["img_size"])
        return cls(**known)

    def describe(self) -> str:
        """The settings that shape the weights, for error messages."""
        return (f"arch={self.arch}, encoder_depth={self.encoder_depth}, "
                f"self_attention={self.self_attention}, norm_type={self.norm_type}, "
                f"blur={self.blur}")


def build_colorizer(cfg: ColorizerConfig, pretrained: bool = False,
                    weights_path: str | os.PathLike | None = None) -> ChromaUnet:
    """The `ChromaUnet` described by `cfg` (ImageNet encoder weights if `pretrained`)."""
    encoder = create_encoder(cfg.arch, pretrained=pretrained, weights_path=weights_path)
    if not 1 <= cfg.encoder_depth <= len(encoder):
        raise ValueError(f"encoder_depth must be 1..{len(encoder)} for {cfg.arch}, got "
                         f"{cfg.encoder_depth}")
    encoder = nn.Sequential(*list(encoder)[:cfg.encoder_depth])
    return ChromaUnet(encoder, cfg.img_size, blur=cfg.blur, self_attention=cfg.self_attention,
                      norm_type=cfg.norm_type, chroma_range=cfg.chroma_range,
                      mean=tuple(cfg.mean), std=tuple(cfg.std))


COLORIZER_MODEL = SavedModelKind(task=TASK, config_cls=ColorizerConfig, build=build_colorizer,
                                 name="colorizer", noun="colorizer",
                                 train_command="lesson7 colorize train",
                                 describe=ColorizerConfig.describe)
"""How a colorizer is saved and loaded (`lesson7.train.saved_model`)."""


def resolve_colorizer(path: str | os.PathLike) -> Path:
    """A run folder (-> its model.safetensors), X.safetensors, or X / X.json beside it."""
    return COLORIZER_MODEL.resolve(path)


def render_dims(size: tuple[int, int], render_size: int) -> tuple[int, int]:
    """(w, h) the model colours a (W, H) photo at: short side `render_size` (never enlarged
    beyond the photo), both sides rounded to a multiple of 16, at least 16."""
    if render_size < RENDER_MULTIPLE:
        raise ValueError(f"--render-size must be >= {RENDER_MULTIPLE} px, got {render_size}")
    w, h = size
    s = min(1.0, render_size / min(w, h))
    return tuple(max(RENDER_MULTIPLE, RENDER_MULTIPLE * round(n * s / RENDER_MULTIPLE))
                 for n in (w, h))


class Colorizer(TrainedModel):
    """A colorization model with its pre/post-processing; `Colorizer.load(run)` rebuilds one
    from a run folder of `lesson7 colorize train`, `save` writes one."""

    kind = COLORIZER_MODEL
    model: ChromaUnet
    cfg: ColorizerConfig

    # -- colouring ---------------------------------------------------------------------------
    def _model_input(self, grey: Image.Image, dims: tuple[int, int]) -> Tensor:
        """Grey "L" photo -> (1, 3, h, w) ImageNet-normalised grey RGB at the render size."""
        small = grey if grey.size == dims else grey.resize(dims, Image.Resampling.BICUBIC)
        y = torch.from_numpy(np.asarray(small, dtype=np.float32) / 255)       # (h, w)
        x = y.expand(3, *y.shape)                                             # (3, h, w)
        mean = torch.tensor(self.cfg.mean).view(3, 1, 1)
        std = torch.tensor(self.cfg.std).view(3, 1, 1)
        return ((x - mean) / std)[None].to(self.device)

    @torch.no_grad()
    def chroma(self, grey: Image.Image, render_size: int | None = None) -> Tensor:
        """(2, h, w) float Cb, Cr on the CPU for an "L" photo, at its render size."""
        dims = render_dims(grey.size, render_size or self.cfg.render_size)
        return self.model.chroma(self._model_input(grey, dims))[0].float().cpu()

    def colorize_rows(self, img: Image.Image, render_size: int | None = None,
                      band: int = 256) -> Iterator[np.ndarray]:
        """The coloured photo as uint8 (n, W, 3) row blocks, top to bottom, at `img`'s size.

        `img` is made grey first (PIL "L", BT.601); its luminance is the output's, up to the
        rounding of R, G, B to 8 bits (half a level). The model runs now, before the first
        block is asked for.
        """
        grey = img if img.mode == "L" else img.convert("L")
        chroma = self.chroma(grey, render_size)                                # (2, h, w)
        big_w, big_h = grey.size
        h = chroma.shape[1]
        # Bilinear (half-pixel centres, as F.interpolate with align_corners=False), separably:
        # widen every chroma row once, then blend two rows per output row, band by band.
        wide = F.interpolate(chroma[None], size=(h, big_w), mode="bilinear",
                             align_corners=False)[0]                          # (2, h, W)
        return self._rows(grey, wide, big_h, band)

    @staticmethod
    def _rows(grey: Image.Image, wide: Tensor, big_h: int, band: int) -> Iterator[np.ndarray]:
        h = wide.shape[1]
        for y0 in range(0, big_h, band):
            y1 = min(y0 + band, big_h)
            src = ((torch.arange(y0, y1, dtype=torch.float64) + 0.5) * h / big_h - 0.5).clamp(min=0)
            i0 = src.floor().long().clamp(max=h - 1)
            i1 = (i0 + 1).clamp(max=h - 1)
            wgt = (src - i0).float().view(1, -1, 1)
            cbcr = wide[:, i0] * (1 - wgt) + wide[:, i1] * wgt                  # (2, n, W)
            y = torch.from_numpy(np.asarray(grey.crop((0, y0, grey.width, y1)),
                                            dtype=np.float32) / 255)             # (n, W)
            rgb = chroma_to_rgb(y[None, None], cbcr[None])[0]                   # (3, n, W)
            arr = rgb.mul_(255).round_().byte().numpy()
            yield np.ascontiguousarray(arr.transpose(1, 2, 0))                # (n, W, 3)

    def colorize(self, img: Image.Image, render_size: int | None = None) -> Image.Image:
        """PIL in (any mode; made grey first) -> coloured RGB PIL out, the same size."""
        return Image.fromarray(np.concatenate(list(self.colorize_rows(img, render_size))))

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def __repr__(self) -> str:
        return f"Colorizer({self.cfg.describe()}, {self.n_params / 1e6:.2f} M parameters)"
