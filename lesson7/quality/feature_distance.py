"""An FID-style distance between two sets of photos on pooled ImageNet EfficientNet-Lite0
features: the Fréchet distance (`lesson7.gan.fid.frechet_distance`) of the 1280-d globally
average-pooled activations that feed Lite0's classifier, images resized to 224 x 224.

Why not FID itself: FID is defined on Inception-v3's pool3 features, whose weights we cannot
fetch offline; the packaged EfficientNet-Lite0 ImageNet classifier (`lesson7.models.efficientnet`)
plays the same role here. Values are therefore *not* comparable with published FIDs, only with
each other at the same sample count (the estimate is biased upwards for small n, and with fewer
images than 1280 the covariances are rank-deficient), so a report states the network and n.
Ref: Heusel et al. 2017 (FID, arXiv:1706.08500).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from lesson7.gan.fid import ClassifierFeatures, fid_from_features
from lesson7.models.efficientnet import IMAGENET_MEAN, IMAGENET_STD, efficientnet_lite0

__all__ = ["FEATURE_NETWORK", "lite0_features", "feature_distance"]

FEATURE_NETWORK = "EfficientNet-Lite0 (ImageNet), 1280-d average-pooled features at 224 px"


def lite0_features(model: nn.Module | None = None, device: str | torch.device = "cpu"
                   ) -> ClassifierFeatures:
    """A function (B, 3, H, W) RGB in [0, 1] -> (B, 1280) pooled Lite0 features."""
    model = (model or efficientnet_lite0(pretrained=True)).to(device)
    return ClassifierFeatures(model, size=224, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                              input_range=(0.0, 1.0))


@torch.no_grad()
def feature_distance(images: Iterable[Tensor], reference: Iterable[Tensor],
                     features: ClassifierFeatures | None = None) -> float:
    """Fréchet distance between the Lite0 features of two sets of RGB [0, 1] image batches."""
    features = features or lite0_features()
    a = torch.cat([features(b) for b in images])
    b = torch.cat([features(b) for b in reference])
    return fid_from_features(a, b)
