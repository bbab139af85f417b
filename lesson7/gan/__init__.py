"""GAN training for Lesson 7: switchers, the GAN trainer/learner, the NoGAN chain, and FID."""

from lesson7.gan.chain import ChainConfig, compare, run_chain
from lesson7.gan.fid import ClassifierFeatures, classifier_fid, fid_from_features, frechet_distance
from lesson7.gan.finetune import GANTrainConfig, finetune, load_critic, load_generator
from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.gan.nogan import FolderPairs, critic_learner, pretrain_critic, save_preds
from lesson7.gan.switchers import AdaptiveGANSwitcher, FixedGANSwitcher
from lesson7.gan.trainer import GANDiscriminativeLR, GANLoss, GANModule, GANTrainer

__all__ = [
    "AdaptiveGANSwitcher", "ChainConfig", "ClassifierFeatures", "FixedGANSwitcher", "FolderPairs",
    "GANDiscriminativeLR", "GANLearner", "GANLoss", "GANModule", "GANTrainConfig", "GANTrainer",
    "NoiseData", "classifier_fid", "compare", "critic_learner", "fid_from_features", "finetune",
    "frechet_distance", "load_critic", "load_generator", "pretrain_critic", "run_chain",
    "save_preds",
]
