"""GAN training for Lesson 7: switchers, the GAN trainer/learner, the NoGAN chain, and FID."""

from lesson7.gan.fid import ClassifierFeatures, classifier_fid, fid_from_features, frechet_distance
from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.gan.switchers import AdaptiveGANSwitcher, FixedGANSwitcher
from lesson7.gan.trainer import GANDiscriminativeLR, GANLoss, GANModule, GANTrainer

__all__ = [
    "AdaptiveGANSwitcher", "ClassifierFeatures", "FixedGANSwitcher", "GANDiscriminativeLR",
    "GANLearner", "GANLoss", "GANModule", "GANTrainer", "NoiseData", "classifier_fid",
    "fid_from_features", "frechet_distance",
]
