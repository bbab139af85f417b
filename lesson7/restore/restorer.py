"""A trained restoration model bundled with what it needs to run: architecture settings,
normalisation statistics and input scale, saved beside the weights as JSON metadata.

`Restorer.load(run_dir_or_checkpoint)` rebuilds the U-Net from the metadata (no pretrained
download: the weights come from the checkpoint), so a checkpoint of another task or
architecture fails with one readable error. `restore(pil_image)` upsamples by `scale`
(bicubic, as in training), normalises, runs the model in blended tiles and denormalises;
`restore_rows` does the same as a stream of output rows, with memory bounded by one band of
tiles, for images of any size (`lesson7 restore predict` writes them straight into the file).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from lesson7.data.images import pil_to_tensor, tensor_to_pil
from lesson7.models.encoders import create_encoder
from lesson7.models.sr_unet import SRUnet
from lesson7.models.unet import DynamicUnet
from lesson7.restore.band_resize import resize_band, resize_rows
from lesson7.restore.tiles import predict_tiled, tiled_bands
from lesson7.train.saved_model import SavedModelKind, TrainedModel

__all__ = ["UnetConfig", "build_unet", "Restorer", "resolve_checkpoint", "pil_to_tensor",
           "tensor_to_pil", "to_uint8_rows_"]

@dataclass
class UnetConfig:
    """Everything needed to rebuild the restoration U-Net (saved in the checkpoint metadata)."""

    arch: str = "resnet34"
    n_out: int = 3
    in_channels: int = 3
    img_size: tuple[int, int] = (128, 128)
    blur: bool = True
    self_attention: bool = True
    y_range: tuple[float, float] | None = (-3.0, 3.0)
    norm_type: str | None = "weight"
    last_cross: bool = True
    bottle: bool = False
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    scale: float = 1.0
    """Input upsampling factor at prediction time (4 for a bicubic-x4 model)."""
    upscale: int = 1
    """The model enlarges its input by this itself (an `SRUnet`); 1 for the lesson's U-Net."""
    features: int = 32
    """`SRUnet`: channels of the U-Net output and the upsampling tail."""
    unshuffle: int = 1
    """`SRUnet`: the U-Net runs on the input folded d x d into channels (d = this); with
    `upscale` 1 a same-size restorer at 1/d² of the U-Net's cost."""
    encoder_depth: int | None = None
    """Encoder children kept (all when None; fastai's `create_body(cut=...)`, named as
    `ColorizerConfig.encoder_depth`), e.g. 5 for EfficientNet-Lite0's stem + stages 1-4 (80
    channels at 1/16): a smaller model."""

    @property
    def sr_unet(self) -> bool:
        """Whether this describes an `SRUnet` (the U-Net on the low-resolution or folded input)."""
        return self.upscale > 1 or self.unshuffle > 1

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> UnetConfig:
        known = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        for k in ("img_size", "y_range"):
            if known.get(k) is not None:
                known[k] = tuple(known[k])
        return cls(**known)


def build_unet(cfg: UnetConfig, pretrained: bool = False,
               weights_path: str | os.PathLike | None = None) -> nn.Module:
    """The DynamicUnet (or, with `upscale` or `unshuffle` > 1, the SRUnet) described by `cfg`."""
    encoder = create_encoder(cfg.arch, pretrained=pretrained, weights_path=weights_path,
                             in_channels=cfg.in_channels * cfg.unshuffle ** 2)
    if cfg.encoder_depth is not None:
        if not 1 <= cfg.encoder_depth <= len(encoder):
            raise ValueError(f"encoder_depth {cfg.encoder_depth} is outside 1..{len(encoder)}, "
                             f"the {cfg.arch} encoder's children")
        encoder = nn.Sequential(*list(encoder)[:cfg.encoder_depth])
    if cfg.sr_unet:
        return SRUnet(encoder, cfg.upscale, cfg.features, cfg.img_size, blur=cfg.blur,
                      self_attention=cfg.self_attention, norm_type=cfg.norm_type,
                      unshuffle=cfg.unshuffle)
    return DynamicUnet(encoder, cfg.n_out, cfg.img_size, blur=cfg.blur,
                       self_attention=cfg.self_attention, y_range=cfg.y_range,
                       last_cross=cfg.last_cross, bottle=cfg.bottle, norm_type=cfg.norm_type)


RESTORE_MODEL = SavedModelKind(task="restore", config_cls=UnetConfig, build=build_unet,
                               name="restore checkpoint", noun="model",
                               train_command="lesson7 restore train", required=("arch",))
"""How a restorer is saved and loaded (`lesson7.train.saved_model`)."""


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A run folder (-> its model.safetensors) or a checkpoint path, checked to exist."""
    return RESTORE_MODEL.resolve(path)


class Restorer(TrainedModel):
    """A restoration model with its pre/post-processing; `Restorer.load(run)` rebuilds one
    from a run folder of `lesson7 restore train`, `save` writes one."""

    kind = RESTORE_MODEL
    cfg: UnetConfig

    def __init__(self, model: nn.Module, cfg: UnetConfig, device: str | torch.device = "cpu"):
        super().__init__(model, cfg, device)
        c = cfg.in_channels
        self.mean = torch.tensor(cfg.mean[:c], device=self.device).view(c, 1, 1)
        self.std = torch.tensor(cfg.std[:c], device=self.device).view(c, 1, 1)

    def _run(self, x: Tensor) -> Tensor:                  # x: (1, C, h, w) normalised
        return self.model(x)

    @property
    def mode(self) -> str:
        """The PIL mode the model reads: "L" for a 1-channel model, else "RGB"."""
        return "L" if self.cfg.in_channels == 1 else "RGB"

    def _normalise(self, img: Tensor) -> Tensor:          # (C, h, w) in [0, 1] -> model input
        return (img.to(self.device) - self.mean) / self.std

    def _normalise_(self, img: Tensor) -> Tensor:         # the same, in place when on the device
        return img.to(self.device).sub_(self.mean).div_(self.std)

    def _denormalise_(self, out: Tensor) -> Tensor:       # (C_out, h, w) model output, on the CPU
        c = out.shape[0]
        mean = self.mean.cpu()[:c] if c <= len(self.mean) else self.mean.cpu().mean()
        std = self.std.cpu()[:c] if c <= len(self.std) else self.std.cpu().mean()
        return out.mul_(std).add_(mean).clamp_(0, 1)        # in place: no second band in memory

    @torch.no_grad()
    def restore_tensor(self, img: Tensor, tile: int = 512, overlap: int = 32) -> Tensor:
        """(C, H, W) in [0, 1] -> restored (C_out, H*u, W*u) in [0, 1], u = `cfg.upscale`: the
        model's own input (already upsampled by `cfg.scale` for the lesson's U-Net)."""
        out = predict_tiled(self._run, self._normalise(img), tile, overlap, self.cfg.upscale)
        return self._denormalise_(out)

    @property
    def default_scale(self) -> float:
        """How much `restore` enlarges an image unless told otherwise."""
        return float(self.cfg.upscale) if self.cfg.upscale > 1 else self.cfg.scale

    def output_size(self, size: tuple[int, int], scale: float | None = None) -> tuple[int, int]:
        """(width, height) that `restore` gives for an image of `size` = (width, height)."""
        scale = self.default_scale if scale is None else scale
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"--scale must be > 0, got {scale}")
        return round(size[0] * scale), round(size[1] * scale)

    def upscale_input(self, img: Image.Image, scale: float | None = None) -> Image.Image:
        """The model's input for `img`: bicubic upsampling by `scale` (default: the trained one);
        a model that upscales itself takes `img` as it is."""
        size = self.output_size(img.size, scale)
        if size == img.size or self.cfg.upscale > 1:
            return img
        return img.resize(size, Image.Resampling.BICUBIC)

    def restore(self, img: Image.Image, scale: float | None = None, tile: int = 512,
                overlap: int = 32) -> Image.Image:
        """PIL in -> restored PIL out, `scale` times larger (default: the trained scale).

        The lesson's U-Net gets its input bicubic-upsampled by `scale` first. A model that
        upscales by u itself (`SRUnet`) runs on the image as it is, and its output is resized
        (Lanczos) to `scale` when that differs from u: a x4 model also gives x2 and x1.
        The result is assembled from `restore_rows`.
        """
        return Image.fromarray(np.concatenate(list(self.restore_rows(img, scale, tile, overlap))))

    def restore_rows(self, img: Image.Image, scale: float | None = None, tile: int = 512,
                     overlap: int = 32) -> Iterator[np.ndarray]:
        """`restore` as a stream of uint8 row blocks, (n, W) grey or (n, W, 3) RGB, top to bottom.

        Memory is bounded by one band of tiles (tile height x output width), not by the
        image: the model's input is made band by band (a crop of `img`, or the band's rows of
        its bicubic upsampling, `resize_band`), only that band is converted to float, and the
        blended output leaves `tiled_bands` band by band. The checks (scale, an empty output)
        run now, before the first block is asked for.
        """
        if img.mode != self.mode:
            img = img.convert(self.mode)
        target = self.output_size(img.size, scale)
        if min(target) < 1:
            raise ValueError(f"--scale {scale} turns a {img.width}x{img.height} image into "
                             f"{target[0]}x{target[1]} px")
        u = self.cfg.upscale
        if u > 1 or target == img.size:
            (w, h), read = img.size, lambda y0, y1: img.crop((0, y0, img.width, y1))
        else:  # the lesson's U-Net: the band's rows of the bicubic upsampling (`upscale_input`)
            (w, h), read = target, lambda y0, y1: resize_band(img, target, y0, y1)
        bands = tiled_bands(self._run, lambda y0, y1: self._normalise_(pil_to_tensor(read(y0, y1))),
                            h, w, tile, overlap, u)
        rows = (to_uint8_rows_(self._denormalise_(band)) for band in bands)
        if u > 1 and (w * u, h * u) != target:
            rows = resize_rows(rows, (w * u, h * u), target, Image.Resampling.LANCZOS)
        return rows


def to_uint8_rows_(x: Tensor) -> np.ndarray:
    """float (C, n, W) in [0, 1] -> uint8 rows (n, W) for C = 1 or (n, W, 3), as `tensor_to_pil`;
    `x` is overwritten (no float copy of a band)."""
    if x.shape[0] not in (1, 3):
        raise ValueError(f"a restored image has 1 or 3 channels, the model gave {x.shape[0]}")
    arr = x.clamp_(0, 1).mul_(255).round_().byte().cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else np.ascontiguousarray(arr.transpose(1, 2, 0))

