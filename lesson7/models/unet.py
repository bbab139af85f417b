"""Dynamic U-Net: a decoder grown for any CNN encoder; the encoder is left untouched.

A dummy forward pass (hooks as context managers) finds the encoder children after which the
feature map shrinks; their outputs become the skip connections. The decoder mirrors them
deepest-first with `UnetBlock`s (PixelShuffle_ICNR upsampling, concat with the batch-normed
skip, two convs), then upsamples to the input size, concatenates the raw input ("last cross")
and maps to `n_out` channels (fastai v1 `fastai/vision/models/unet.py`).

Differences from fastai v1 (all deliberate; bug ids as in docs/architecture.md, Differences
from fastai v1):
- skips are read in `forward` as the encoder runs, so they carry gradients into the encoder (B1);
- blur only where flagged, ICNR survives weight norm (B2, B3: see `layers.py`);
- the last cross adds the real input channel count (B5) and the encoder is probed at the real
  `img_size`, comparing height *and* width (B6); at run time any input size works (the output
  is resized to the input, as fastai v2's `ResizeToOrig`);
- an encoder whose stem drops 4x at once gets one 4x PixelShuffle at the end instead of 2x +
  nearest resize.
Refs: Ronneberger et al. 2015 (U-Net, arXiv:1505.04597); fastai v1 1.0.61 and v2 2.8 `DynamicUnet`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lesson7.models.encoders import first_conv
from lesson7.models.layers import (
    NormType,
    PixelShuffle_ICNR,
    SigmoidRange,
    batchnorm_2d,
    conv_layer,
    res_block,
)
from lesson7.train.hooks import Hooks, eval_mode

__all__ = ["find_resolution_drops", "UnetBlock", "DynamicUnet", "unet_splitter"]

Size = tuple[int, int]


def find_resolution_drops(encoder: nn.Sequential, size: Size, in_channels: int = 3,
                          ) -> tuple[list[int], list[torch.Size]]:
    """Children after which the feature map shrinks (the U-Net skip points), and every
    child's output shape for a (1, in_channels, *size) input."""
    with (Hooks(list(encoder), lambda m, i, o: o.shape) as hooks, torch.no_grad(),
          eval_mode(encoder)):
        encoder(torch.zeros(1, in_channels, *size))
    shapes = hooks.stored
    drops = [i for i in range(len(shapes) - 1) if shapes[i + 1][-2:] != shapes[i][-2:]]
    return drops, shapes


def _up_scale(small: Sequence[int], big: Sequence[int]) -> int:
    """Integer upsampling factor from `small` to `big` (2 unless a stage dropped more)."""
    return max(2, round(big[-2] / small[-2]))


def _resize_needed(x: Tensor, like: Tensor) -> bool:
    """Whether `x` must be resized to the height and width of `like`.

    Always true while tracing (`torch.onnx.export`): the tracer records the branch taken at the
    export size only, so an exported model would fail on sizes that need the resize; a nearest
    resize to the same size is the identity.
    """
    return torch.jit.is_tracing() or x.shape[-2:] != like.shape[-2:]


class UnetBlock(nn.Module):
    """Upsample `up_in`, merge with the encoder skip, then two convs (fastai v1 `UnetBlock`)."""

    def __init__(self, up_in_c: int, x_in_c: int, final_div: bool = True, blur: bool = False,
                 self_attention: bool = False, norm_type: NormType = "batch",
                 leaky: float | None = None, scale: int = 2) -> None:
        super().__init__()
        self.shuf = PixelShuffle_ICNR(up_in_c, up_in_c // 2, scale=scale, blur=blur,
                                      norm_type=norm_type, leaky=leaky)
        self.bn = batchnorm_2d(x_in_c)
        ni = up_in_c // 2 + x_in_c
        nf = ni if final_div else ni // 2
        self.act = nn.LeakyReLU(leaky) if leaky is not None else nn.ReLU()
        self.conv1 = conv_layer(ni, nf, norm_type=norm_type, leaky=leaky)
        self.conv2 = conv_layer(nf, nf, norm_type=norm_type, leaky=leaky,
                                self_attention=self_attention)
        self.out_channels = nf

    def forward(self, up_in: Tensor, skip: Tensor) -> Tensor:
        up = self.shuf(up_in)                                          # (B, up_in_c/2, 2h, 2w)
        if _resize_needed(up, skip):                                   # odd sizes: 2h = h_skip + 1
            up = F.interpolate(up, skip.shape[-2:], mode="nearest")    # (B, up_in_c/2, H, W)
        x = self.act(torch.cat([up, self.bn(skip)], dim=1))            # (B, ni, H, W)
        return self.conv2(self.conv1(x))                               # (B, nf, H, W)


class DynamicUnet(nn.Module):
    """U-Net decoder built around `encoder` (an nn.Sequential of CNN stages).

    Args:
        encoder: conv trunk, e.g. `create_encoder("resnet34")`; run child by child.
        n_out: output channels (3 to restore an RGB image).
        img_size: (H, W) used to probe the encoder; the model accepts other sizes afterwards.
        blur, blur_final: blur after each PixelShuffle (`blur_final` for the last block too).
        self_attention: SAGAN attention in the third block from the end, as the lesson.
        y_range: squash the output into (lo, hi) with a sigmoid; None for a linear output.
        last_cross: concatenate the raw input before a final res_block.
        bottle: halve the channels inside that res_block.
        norm_type: "batch", "weight" (the lesson), "spectral", ... for every decoder conv.
    """

    def __init__(self, encoder: nn.Sequential, n_out: int, img_size: Size = (256, 256),
                 blur: bool = False, blur_final: bool = True, self_attention: bool = False,
                 y_range: tuple[float, float] | None = None, last_cross: bool = True,
                 bottle: bool = False, norm_type: NormType = "batch",
                 leaky: float | None = None) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Sequential):
            raise ValueError(f"encoder must be an nn.Sequential of stages (got "
                             f"{type(encoder).__name__}); use create_encoder(arch) or "
                             f"nn.Sequential(*stages)")
        img_size = tuple(img_size)
        in_ch = first_conv(encoder).in_channels  # the real input channel count (B5)
        drops, shapes = find_resolution_drops(encoder, img_size, in_ch)
        if not drops:
            raise ValueError(f"the encoder never reduces the resolution of a {img_size} input; "
                             f"a U-Net needs at least one downsampling stage")
        self.encoder = encoder
        self.skip_idxs = drops
        self.img_size = img_size
        self.in_channels = in_ch

        ni = shapes[-1][1]
        self.middle = nn.Sequential(batchnorm_2d(ni), nn.ReLU(),
                                    conv_layer(ni, ni * 2, norm_type=norm_type, leaky=leaky),
                                    conv_layer(ni * 2, ni, norm_type=norm_type, leaky=leaky))
        blocks, up_shape = [], shapes[-1]
        for i, idx in enumerate(reversed(drops)):
            not_final = i != len(drops) - 1
            block = UnetBlock(ni, shapes[idx][1], final_div=not_final,
                              blur=blur and (not_final or blur_final),
                              self_attention=self_attention and i == len(drops) - 3,
                              norm_type=norm_type, leaky=leaky,
                              scale=_up_scale(up_shape, shapes[idx]))
            blocks.append(block)
            ni, up_shape = block.out_channels, shapes[idx]
        self.blocks = nn.ModuleList(blocks)

        # The shallowest skip is usually at H/2: one more PixelShuffle gets back to full size.
        self.upsample = (PixelShuffle_ICNR(ni, scale=_up_scale(up_shape, img_size),
                                           norm_type=norm_type, leaky=leaky)
                         if tuple(up_shape[-2:]) != img_size else nn.Identity())
        self.last_cross = last_cross
        if last_cross:
            ni += in_ch
        self.cross = (res_block(ni, bottle=bottle, norm_type=norm_type, leaky=leaky)
                      if last_cross else nn.Identity())
        self.head = conv_layer(ni, n_out, ks=1, use_activ=False, norm_type=norm_type)
        self.y_range = y_range
        self.out_range = SigmoidRange(*y_range) if y_range is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:                  # x: (B, C_in, H, W)
        skips = []
        h = x
        for i, stage in enumerate(self.encoder):
            h = stage(h)
            if i in self.skip_idxs:
                skips.append(h)                               # kept with its graph (B1)
        h = self.middle(h)                                    # (B, C_enc, H/32, W/32) for a resnet
        for block, skip in zip(self.blocks, reversed(skips), strict=True):
            h = block(h, skip)                                # up to the skip's resolution
        h = self.upsample(h)                                  # (B, C, ~H, ~W)
        if _resize_needed(h, x):
            h = F.interpolate(h, x.shape[-2:], mode="nearest")  # (B, C, H, W)
        if self.last_cross:
            h = self.cross(torch.cat([h, x], dim=1))          # (B, C + C_in, H, W)
        return self.out_range(self.head(h))                   # (B, n_out, H, W)

    @torch.no_grad()
    def init_identity_(self) -> DynamicUnet:
        """Start as the identity on the raw input: the last-cross res_block's second conv is
        zeroed (the block passes its input through) and the 1x1 head copies the input channels.

        Training then starts from the degraded image instead of noise, so a short run cannot do
        worse than its input (VDSR's residual idea, Kim et al. 2016, reached by initialisation
        alone: the architecture stays fastai's). Needs `last_cross`, `n_out == in_channels`, no
        `y_range` (a sigmoid cannot be the identity) and norm "weight" or None.
        """
        n_out = _out_channels(self.head[0])
        if not self.last_cross or self.y_range is not None or n_out != self.in_channels:
            raise ValueError("identity init needs last_cross=True, y_range=None and n_out equal "
                             f"to the input channels (got last_cross={self.last_cross}, "
                             f"y_range={self.y_range}, n_out={n_out}, in={self.in_channels})")
        if any(isinstance(m, nn.BatchNorm2d) for m in self.head):
            raise ValueError("identity init needs norm_type 'weight' or None (a BatchNorm in the "
                             "1x1 head would renormalise the copied input)")
        last = self.cross[1]                       # conv_layer: conv (+ act) (+ BN)
        _zero_conv_layer(last)
        eye = torch.zeros_like(_plain_weight(self.head[0]))  # (n_out, C + C_in, 1, 1)
        c = eye.shape[1] - self.in_channels
        for k in range(n_out):
            eye[k, c + k] = 1.0
        _set_weight(self.head[0], eye)
        return self

    def decoder_modules(self) -> list[nn.Module]:
        """Everything that is not the encoder (the third layer group)."""
        return [self.middle, self.blocks, self.upsample, self.cross, self.head, self.out_range]


def _out_channels(conv: nn.Module) -> int:
    return conv.out_channels


def _plain_weight(conv: nn.Module) -> Tensor:
    return conv.weight.detach()


def _set_weight(conv: nn.Module, w: Tensor) -> None:
    """Give `conv` the effective weight `w`, through a weight-norm wrapper if there is one."""
    p = getattr(conv, "parametrizations", None)
    if p is not None and "weight" in p:
        if not hasattr(p.weight, "original1"):
            raise ValueError("identity init supports norm_type 'weight', 'batch' or None")
        p.weight.original1.copy_(w)                                  # v = w
        p.weight.original0.copy_(w.flatten(1).norm(dim=1).view_as(p.weight.original0))  # g = |w|
    else:
        conv.weight.copy_(w)
    if conv.bias is not None:
        conv.bias.zero_()


def _zero_conv_layer(layer: nn.Sequential) -> None:
    """Make a conv_layer output zeros: BN gamma/beta to 0, or the conv's magnitude to 0."""
    bn = [m for m in layer if isinstance(m, nn.BatchNorm2d)]
    if bn:
        bn[0].weight.zero_()
        bn[0].bias.zero_()
        return
    conv = layer[0]
    p = getattr(conv, "parametrizations", None)
    if p is not None and hasattr(p.weight, "original0") and hasattr(p.weight, "original1"):
        p.weight.original0.zero_()  # g = 0: w = 0, and g still gets gradients
    elif p is None:
        conv.weight.zero_()
    else:
        raise ValueError("identity init supports norm_type 'weight', 'batch' or None")
    if conv.bias is not None:
        conv.bias.zero_()


def unet_splitter(model: DynamicUnet) -> list[list[nn.Parameter]]:
    """Three layer groups, as fastai's `unet_learner`: encoder up to the deepest skip
    (resnet: stem + layer1-2; VGG: conv1-4), the rest of the encoder, the decoder."""
    cut = model.skip_idxs[-1]
    enc = list(model.encoder)
    groups = [nn.ModuleList(enc[:cut]), nn.ModuleList(enc[cut:]),
              nn.ModuleList(model.decoder_modules())]
    return [list(g.parameters()) for g in groups]
