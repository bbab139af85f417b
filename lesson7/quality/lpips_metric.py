"""LPIPS (Zhang et al. 2018, arXiv:1801.03924) through the `lpips` PyPI package, offline.

The package ships its calibrated linear heads; its trunk would normally be downloaded by
torchvision. We build `lpips.LPIPS(pretrained=True, pnet_rand=True)` (heads loaded, nothing
downloaded) and then copy an ImageNet trunk in: from a file (`trunk_weights`), torchvision's
hub cache, or `{alexnet,vgg16}_features.safetensors` found by `lesson7.weights.find_weights`.
A random trunk would give meaningless scores (~0.01 for everything), so there is no silent
fallback: no weights is an error. Lower is better; inputs are [0, 1] images.
"""

from __future__ import annotations

import os
import warnings

import torch
from torch import Tensor, nn

from lesson7.models.encoders import (
    PretrainedWeightsUnavailable,
    load_tv_model,
    torchvision_cached,
)
from lesson7.weights import find_weights, where_to_put

__all__ = ["LPIPS"]

_TRUNKS = {"alex": ("alexnet", "alexnet_features.safetensors"),
           "vgg": ("vgg16", "vgg16_features.safetensors")}


def _trunk_features(net: str, trunk_weights: str | os.PathLike | None) -> nn.Sequential:
    arch, filename = _TRUNKS[net]
    if trunk_weights is not None:
        return load_tv_model(arch, weights_path=trunk_weights).features
    found = find_weights(filename)
    if found is not None and not torchvision_cached(arch):  # same trunk; skip a download try
        return load_tv_model(arch, weights_path=found).features
    try:
        return load_tv_model(arch, pretrained=True).features
    except PretrainedWeightsUnavailable as e:
        if found is None:
            raise PretrainedWeightsUnavailable(
                f"LPIPS needs an ImageNet {arch} trunk, which is neither in torchvision's cache "
                f"({torch.hub.get_dir()}) nor downloadable here: {where_to_put(filename)}, or "
                "pass --lpips-weights PATH (trunk_weights= in Python), or --no-lpips to skip "
                "LPIPS.") from e
        return load_tv_model(arch, weights_path=found).features


class LPIPS(nn.Module):
    """Learned perceptual distance per image, (B,); `net` "alex" (the paper's default) or "vgg"."""

    def __init__(self, net: str = "alex", trunk_weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        if net not in _TRUNKS:
            raise ValueError(f"unknown LPIPS net {net!r}; choose from {sorted(_TRUNKS)}")
        import lpips  # the PyPI package

        with warnings.catch_warnings():  # it calls torchvision with the deprecated `pretrained=`
            warnings.simplefilter("ignore", UserWarning)
            self.model = lpips.LPIPS(pretrained=True, net=net, pnet_rand=True, verbose=False)
        features = _trunk_features(net, trunk_weights)
        # lpips splits torchvision's `features` into slices, keeping each layer's index as its name.
        for i in range(1, self.model.net.N_slices + 1):
            for name, layer in getattr(self.model.net, f"slice{i}").named_children():
                layer.load_state_dict(features[int(name)].state_dict())
        self.model.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> LPIPS:
        return super().train(False)  # a metric: always eval (its heads have dropout)

    @torch.no_grad()
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.dim() == 3:
            pred, target = pred.unsqueeze(0), target.unsqueeze(0)
        if pred.shape != target.shape:
            raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} "
                             f"differ in shape")
        if pred.shape[1] == 1:  # grey: the trunk wants RGB
            pred, target = pred.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)
        return self.model(pred.float(), target.float(), normalize=True).flatten()  # [0,1] -> [-1,1]


def lpips_unavailable(weights: str | os.PathLike | None = None, net: str = "alex") -> str | None:
    """Why LPIPS cannot be scored here (no ImageNet trunk: not in torchvision's cache, not
    downloadable, not in the weights dir), or None when it can. Reports use it to print "n/a"
    with the reason instead of skipping a stage."""
    try:
        LPIPS(net, weights)
    except PretrainedWeightsUnavailable as e:
        return str(e)
    return None
