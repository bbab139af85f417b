"""The lesson's GAN mechanics: generator/critic switchers, the GAN trainer and learner, and a
classifier-FID. The NoGAN restoration pipeline built on them is `lesson7.nogan`; the WGAN
pipeline is `lesson7.wgan`."""

from lesson7.gan.fid import ClassifierFeatures, classifier_fid, fid_from_features, frechet_distance
from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.gan.switchers import AdaptiveGANSwitcher, FixedGANSwitcher
from lesson7.gan.trainer import GANDiscriminativeLR, GANLoss, GANModule, GANTrainer

__all__ = [
    "AdaptiveGANSwitcher", "ClassifierFeatures", "FixedGANSwitcher", "GANDiscriminativeLR",
    "GANLearner", "GANLoss", "GANModule", "GANTrainer", "NoiseData", "classifier_fid",
    "fid_from_features", "frechet_distance",
]
