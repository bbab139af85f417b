"""Feature (perceptual) loss: pixel L1 + VGG feature L1 + Gram-matrix (style) L1 terms.

The lesson's `FeatureLoss` (`lesson7-superres.ipynb`): a frozen ImageNet VGG16 trunk in eval mode;
features after relu3_3, relu4_3 and relu5_3 (the ReLUs before MaxPools 3-5) with weights
[5, 15, 2]; Gram terms weighted 5e3·w². Inputs are already ImageNet-normalised and go to the
VGG unchanged. Layers are chosen by *name*, so the lesson's VGG16-BN (torchvision weights)
and plain VGG16 (an offline `vgg16_features.safetensors` found by `lesson7.weights`) both work:
the lesson's indices 22/32/42 are only valid for VGG16-BN.
Each term is exposed in `.components` and as metric callables (`component_metrics`).
Refs: Johnson et al. 2016 (arXiv:1603.08155); Gatys et al. 2015 (Gram matrices,
arXiv:1508.06576); fastai course-v3 `lesson7-superres.ipynb`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lesson7.models.encoders import (
    PretrainedWeightsUnavailable,
    load_tv_model,
    load_weights_file,
)
from lesson7.weights import find_weights, where_to_put

__all__ = ["vgg_layer_names", "gram_matrix", "FeatureLoss", "component_metrics",
           "load_vgg_features"]

LESSON_LAYERS = ("relu3_3", "relu4_3", "relu5_3")
LESSON_WEIGHTS = (5.0, 15.0, 2.0)
VGG16_TRUNK_FILE = "vgg16_features.safetensors"  # offline fallback, looked up by lesson7.weights


def vgg_layer_names(features: nn.Sequential) -> list[str]:
    """Names for each child of a torchvision VGG `features`: conv3_1, bn3_1, relu3_1, ..., pool3."""
    names, block, conv = [], 1, 0
    for m in features:
        if isinstance(m, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(m, nn.BatchNorm2d):
            names.append(f"bn{block}_{conv}")
        elif isinstance(m, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        elif isinstance(m, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            raise ValueError(f"unexpected layer {type(m).__name__} in VGG features")
    return names


def gram_matrix(x: Tensor) -> Tensor:
    """Channel correlations X·Xᵀ/(c·h·w) with X of shape (n, c, h·w)."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h * w)                      # (n, c, hw)
    return x @ x.transpose(1, 2) / (c * h * w)      # (n, c, c)


def _is_bn_state(sd: dict[str, Tensor]) -> bool:
    return any(k.endswith("running_mean") for k in sd)


def load_vgg_features(arch: str = "vgg16_bn", pretrained: bool = True,
                      weights_path: str | os.PathLike | None = None) -> tuple[nn.Sequential, str]:
    """A torchvision VGG `features` trunk with ImageNet weights, and the arch actually used.

    `weights_path` decides the arch itself (batch-norm keys mean vgg16_bn). Without a path,
    torchvision's weights for `arch` are used; offline, a plain-VGG16 trunk file found by
    `lesson7.weights.find_weights` is the fallback (said with a warning); with neither,
    `PretrainedWeightsUnavailable`.
    """
    if weights_path is not None:
        arch = "vgg16_bn" if _is_bn_state(load_weights_file(weights_path)) else "vgg16"
        return load_tv_model(arch, weights_path=weights_path).features, arch
    if not pretrained:
        return load_tv_model(arch, pretrained=False).features, arch
    try:
        return load_tv_model(arch, pretrained=True).features, arch
    except PretrainedWeightsUnavailable as e:
        found = find_weights(VGG16_TRUNK_FILE)
        if found is None:
            raise PretrainedWeightsUnavailable(
                f"{e} For the feature loss, pass --feature-weights PATH "
                f"(a vgg16 or vgg16_bn trunk), or {where_to_put(VGG16_TRUNK_FILE)}.") from e
        import warnings

        warnings.warn(f"{arch} ImageNet weights unavailable offline; using the plain VGG16 trunk "
                      f"{found} for the feature loss", stacklevel=2)
        return load_tv_model("vgg16", weights_path=found).features, "vgg16"


class FeatureLoss(nn.Module):
    """L1(ŷ, y) + Σ wᵢ·L1(φᵢ(ŷ), φᵢ(y)) + Σ gram_weight·wᵢ²·L1(G(φᵢ(ŷ)), G(φᵢ(y))).

    Args:
        features: a VGG `features` trunk (torchvision layout); frozen and put in eval mode here.
        layers: names from `vgg_layer_names` (default the lesson's relu3_3, relu4_3, relu5_3).
        layer_weights: wᵢ, one per layer (default [5, 15, 2]).
        gram_weight: 5e3 in the lesson; 0 drops the Gram terms (as DeOldify does).
    """

    def __init__(self, features: nn.Sequential, layers: Sequence[str] = LESSON_LAYERS,
                 layer_weights: Sequence[float] = LESSON_WEIGHTS, gram_weight: float = 5e3,
                 ) -> None:
        super().__init__()
        names = vgg_layer_names(features)
        unknown = [n for n in layers if n not in names]
        if unknown:
            raise ValueError(f"unknown VGG layers {unknown}; this trunk has {names}")
        if len(layer_weights) != len(layers):
            raise ValueError(f"{len(layers)} layers but {len(layer_weights)} layer_weights")
        self.layer_idxs = [names.index(n) for n in layers]
        self.layers = list(layers)
        self.features = nn.Sequential(*list(features)[: max(self.layer_idxs) + 1]).eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.layer_weights = [float(w) for w in layer_weights]
        self.gram_weight = gram_weight
        self.metric_names = (["pixel"] + [f"feat_{i}" for i in range(len(layers))]
                             + [f"gram_{i}" for i in range(len(layers))])
        self.components: dict[str, Tensor] = {}
        self._last_key: tuple | None = None

    @classmethod
    def from_pretrained(cls, arch: str = "vgg16_bn", weights_path: str | os.PathLike | None = None,
                        **kwargs) -> FeatureLoss:
        """The lesson's loss on ImageNet VGG weights (see `load_vgg_features`)."""
        features, _ = load_vgg_features(arch, pretrained=True, weights_path=weights_path)
        return cls(features, **kwargs)

    def train(self, mode: bool = True) -> FeatureLoss:
        super().train(mode)
        self.features.eval()  # the loss network is always in eval mode (BN statistics frozen)
        return self

    def make_features(self, x: Tensor) -> list[Tensor]:
        """Activations at the chosen layers, in the order of `layers`."""
        feats = {}
        # A model run under bf16 autocast hands over bf16 images: the loss network runs in its own
        # dtype with autocast off, so the features are not computed in bf16.
        x = x.to(next(self.features.parameters()).dtype)
        with torch.autocast(x.device.type, enabled=False):
            for i, layer in enumerate(self.features):
                x = layer(x)
                if i in self.layer_idxs:
                    feats[i] = x
        return [feats[i] for i in self.layer_idxs]

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        # fp32 throughout, autocast off: Gram products overflow fp16 and lose bits in bf16.
        with torch.autocast(pred.device.type, enabled=False):
            return self._forward(pred, target)

    def _forward(self, pred: Tensor, target: Tensor) -> Tensor:
        key = _batch_key(pred, target)
        pred, target = pred.float(), target.float()
        with torch.no_grad():
            # clone: the ReLUs work in place
            target_feats = [f.clone() for f in self.make_features(target)]
        pred_feats = self.make_features(pred)
        terms = [F.l1_loss(pred, target)]
        terms += [F.l1_loss(fp, ft) * w
                  for fp, ft, w in zip(pred_feats, target_feats, self.layer_weights, strict=True)]
        terms += [F.l1_loss(gram_matrix(fp), gram_matrix(ft)) * w**2 * self.gram_weight
                  for fp, ft, w in zip(pred_feats, target_feats, self.layer_weights, strict=True)]
        self.components = {n: t.detach() for n, t in zip(self.metric_names, terms, strict=True)}
        self._last_key = key
        return sum(terms)

    def component(self, name: str, pred: Tensor, target: Tensor) -> Tensor:
        """Term `name` for (pred, target) as a 0-d tensor: cached from the last forward on
        these very tensors (the Recorder calls metrics right after the loss), else recomputed."""
        if self._last_key != _batch_key(pred, target):
            with torch.no_grad():
                self(pred, target)
        return self.components[name]


def _batch_key(pred: Tensor, target: Tensor) -> tuple:
    # Storage address + version counter identify "the same tensor, unmodified"; an address can
    # be reused by the next batch, but the loss runs on that batch first and updates the key.
    return (pred.data_ptr(), pred._version, tuple(pred.shape),
            target.data_ptr(), target._version, tuple(target.shape))


def component_metrics(loss: FeatureLoss) -> list[Callable[[Tensor, Tensor], Tensor]]:
    """One metric per loss term (pixel, feat_i, gram_i), named by `__name__` for the Recorder.

    Each reads the term of the loss just computed on the same batch, or recomputes it.
    """
    def make(name: str) -> Callable[[Tensor, Tensor], Tensor]:
        def metric(pred: Tensor, target: Tensor) -> Tensor:
            return loss.component(name, pred, target)
        metric.__name__ = name
        return metric
    return [make(n) for n in loss.metric_names]
