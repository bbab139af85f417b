"""Per-channel normalisation statistics: the ImageNet mean and std, RGB, for images in [0, 1].

Torch-free, so any module can import it cheaply. The values are torchvision's ImageNet
normalisation (the statistics its pretrained models expect), which fastai v1 uses as
``imagenet_stats`` and the lesson passes to ``normalize(imagenet_stats, do_y=True)``.
"""

from __future__ import annotations

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "imagenet_stats"]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
imagenet_stats: tuple[tuple[float, float, float], tuple[float, float, float]] = (
    IMAGENET_MEAN, IMAGENET_STD)
