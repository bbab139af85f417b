"""The lesson's building blocks: conv_layer, res_block, SequentialEx/MergeLayer, DenseBlock,
SelfAttention, PixelShuffle_ICNR, sigmoid_range.

Semantics follow fastai v1 `fastai/layers.py` with its bugs fixed (ids as in docs/architecture.md,
Differences from fastai v1): ICNR survives weight norm (B3), blur only when asked for (B2),
explicit `norm_type` (B4).
Refs: He et al. 2015 (ResNet); Zhang et al. 2018 (SAGAN, arXiv:1805.08318);
Aitken et al. 2017 (ICNR, arXiv:1707.02937); Sugawara et al. 2018 (blur, arXiv:1806.02658).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

NormType = Literal["batch", "batch_zero", "weight", "spectral", "instance"] | None
NORM_TYPES = ("batch", "batch_zero", "weight", "spectral", "instance", None)
Init = Callable[[Tensor], object]


def _check_norm(norm_type: NormType) -> None:
    if norm_type not in NORM_TYPES:
        raise ValueError(f"unknown norm_type {norm_type!r}; choose from {NORM_TYPES}")


def batchnorm_2d(nf: int, zero: bool = False) -> nn.BatchNorm2d:
    """BatchNorm2d with bias 0 and weight 1 (or 0 with `zero`, so a residual branch starts as identity)."""
    bn = nn.BatchNorm2d(nf)
    with torch.no_grad():
        bn.bias.fill_(1e-3)
        bn.weight.fill_(0.0 if zero else 1.0)
    return bn


def conv_layer(ni: int, nf: int, ks: int = 3, stride: int = 1, padding: int | None = None,
               bias: bool | None = None, norm_type: NormType = "batch", use_activ: bool = True,
               leaky: float | None = None, transpose: bool = False, self_attention: bool = False,
               init: Init = nn.init.kaiming_normal_) -> nn.Sequential:
    """conv -> ReLU (or LeakyReLU) -> BatchNorm, the lesson's order (fastai v1 `conv_layer`).

    `norm_type` "weight"/"spectral" wrap the conv; "batch" appends BatchNorm2d. The conv has a
    bias only when no BatchNorm follows. `init` runs *before* any weight/spectral norm wrapper,
    so norms start from the initialised weight (this is how ICNR survives weight norm, B3).
    """
    _check_norm(norm_type)
    padding = (0 if transpose else (ks - 1) // 2) if padding is None else padding
    use_bn = norm_type in ("batch", "batch_zero")
    bias = not use_bn if bias is None else bias
    conv_cls = nn.ConvTranspose2d if transpose else nn.Conv2d
    conv = conv_cls(ni, nf, kernel_size=ks, stride=stride, padding=padding, bias=bias)
    init(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    if norm_type == "weight":
        conv = weight_norm(conv)
    elif norm_type == "spectral":
        conv = spectral_norm(conv)
    layers: list[nn.Module] = [conv]
    if use_activ:
        layers.append(nn.LeakyReLU(leaky, inplace=True) if leaky is not None else nn.ReLU(inplace=True))
    if use_bn:
        # fastai v1 `conv_layer` ignores BatchZero here (a quirk); we honour it.
        layers.append(batchnorm_2d(nf, zero=norm_type == "batch_zero"))
    elif norm_type == "instance":
        layers.append(nn.InstanceNorm2d(nf, affine=True))
    if self_attention:
        layers.append(SelfAttention(nf))
    return nn.Sequential(*layers)


class SequentialEx(nn.Module):
    """Like nn.Sequential, but each layer can read the block input as `x.orig` (for MergeLayer)."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> Tensor:
        res = x
        for layer in self.layers:
            res.orig = x
            nres = layer(res)
            res.orig = None  # drop the reference so the input can be freed (fastai does the same)
            res = nres
        return res

    def __getitem__(self, i: int) -> nn.Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


class MergeLayer(nn.Module):
    """Merge the block output with its input: `x + orig` (ResNet) or `cat([x, orig])` (DenseNet)."""

    def __init__(self, dense: bool = False) -> None:
        super().__init__()
        self.dense = dense

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, x.orig], dim=1) if self.dense else x + x.orig


def res_block(nf: int, dense: bool = False, norm_type: NormType = "batch", bottle: bool = False,
              **conv_kwargs) -> SequentialEx:
    """Two conv_layers and a skip: out = x + conv(conv(x)) (or concat, doubling channels, if dense)."""
    nf_inner = nf // 2 if bottle else nf
    return SequentialEx(conv_layer(nf, nf_inner, norm_type=norm_type, **conv_kwargs),
                        conv_layer(nf_inner, nf, norm_type=norm_type, **conv_kwargs),
                        MergeLayer(dense))


class DenseBlock(nn.Module):
    """DenseNet block (Huang et al. 2017): each layer sees the concat of all earlier outputs.

    Output channels = ni + n_layers * growth.
    """

    def __init__(self, ni: int, growth: int = 16, n_layers: int = 2, norm_type: NormType = "batch") -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [conv_layer(ni + i * growth, growth, norm_type=norm_type) for i in range(n_layers)])

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)  # (B, C + growth, H, W)
        return x


def _conv1d_sn(ni: int, no: int) -> nn.Module:
    conv = nn.Conv1d(ni, no, kernel_size=1, bias=False)
    nn.init.kaiming_normal_(conv.weight)
    return spectral_norm(conv)


class SelfAttention(nn.Module):
    """SAGAN self-attention; gamma starts at 0 so the layer is the identity at init (Zhang et al. 2018)."""

    def __init__(self, n_channels: int) -> None:
        super().__init__()
        self.query = _conv1d_sn(n_channels, max(n_channels // 8, 1))
        self.key = _conv1d_sn(n_channels, max(n_channels // 8, 1))
        self.value = _conv1d_sn(n_channels, n_channels)
        self.gamma = nn.Parameter(torch.tensor([0.0]))

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape
        x_flat = x.flatten(2).float()                         # (B, C, N) with N = H*W
        f, g, h = self.query(x_flat), self.key(x_flat), self.value(x_flat)
        beta = F.softmax(torch.bmm(f.transpose(1, 2), g), dim=1)  # (B, N, N): attention map
        o = self.gamma * torch.bmm(h, beta) + x_flat          # (B, C, N)
        return o.view(*size).to(x.dtype)


def icnr_(w: Tensor, scale: int = 2, init: Init = nn.init.kaiming_normal_) -> Tensor:
    """ICNR init (Aitken et al. 2017): each of the nf base filters repeated scale**2 times in
    PixelShuffle order, so conv + PixelShuffle starts as nearest-neighbour upsampling."""
    ni, nf, h, w_ = w.shape[1], w.shape[0] // scale**2, w.shape[2], w.shape[3]
    base = torch.zeros(nf, ni, h, w_)
    init(base)
    # (nf*s*s, ni, h, w): PixelShuffle takes each run of s*s consecutive channels as one output channel
    k = base.repeat_interleave(scale**2, dim=0)
    with torch.no_grad():
        w.copy_(k)
    return w


class PixelShuffle_ICNR(nn.Module):  # noqa: N801 - the lesson's name
    """Upsample by `scale`: 1x1 conv to nf*scale^2, ReLU, PixelShuffle, optional blur.

    fastai v1 `PixelShuffle_ICNR`; blur from Sugawara et al. 2018 (arXiv:1806.02658).
    """

    def __init__(self, ni: int, nf: int | None = None, scale: int = 2, blur: bool = False,
                 norm_type: NormType = "weight", leaky: float | None = None) -> None:
        super().__init__()
        nf = ni if nf is None else nf
        self.conv = conv_layer(ni, nf * scale**2, ks=1, norm_type=norm_type, use_activ=False,
                               init=lambda w: icnr_(w, scale=scale))
        self.act = nn.LeakyReLU(leaky, inplace=True) if leaky is not None else nn.ReLU(inplace=True)
        self.shuffle = nn.PixelShuffle(scale)
        # Blur (B2 fix): only when asked. ReplicationPad + AvgPool(2, stride 1) removes checkerboards.
        self.pad = nn.ReplicationPad2d((1, 0, 1, 0)) if blur else nn.Identity()
        self.blur = nn.AvgPool2d(2, stride=1) if blur else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = self.shuffle(self.act(self.conv(x)))  # (B, nf, H*s, W*s)
        return self.blur(self.pad(x))


def sigmoid_range(x: Tensor, lo: float, hi: float) -> Tensor:
    """Sigmoid squashed into (lo, hi)."""
    return torch.sigmoid(x) * (hi - lo) + lo


class SigmoidRange(nn.Module):
    """Module form of `sigmoid_range`."""

    def __init__(self, lo: float, hi: float) -> None:
        super().__init__()
        self.lo, self.hi = lo, hi

    def forward(self, x: Tensor) -> Tensor:
        return sigmoid_range(x, self.lo, self.hi)


class Flatten(nn.Module):
    """(B, C, 1, 1) -> (B, C); `full=True` flattens to (B*C,)."""

    def __init__(self, full: bool = False) -> None:
        super().__init__()
        self.full = full

    def forward(self, x: Tensor) -> Tensor:
        return x.view(-1) if self.full else x.view(x.size(0), -1)
