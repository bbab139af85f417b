"""Losses: pixel (MSE, L1) and perceptual (VGG feature + Gram) losses for image restoration.

GAN losses live in `lesson7.losses.gan`.
"""

from lesson7.losses.perceptual import (
    FeatureLoss,
    component_metrics,
    gram_matrix,
    load_vgg_features,
    vgg_layer_names,
)
from lesson7.losses.pixel import L1LossFlat, MSELossFlat

__all__ = ["FeatureLoss", "component_metrics", "gram_matrix", "load_vgg_features",
           "vgg_layer_names", "L1LossFlat", "MSELossFlat"]
