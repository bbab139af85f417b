"""The lesson's WGAN pipeline (`lesson7-wgan.ipynb`): images in memory, WGAN or WGAN-GP from
noise, samples per epoch and a classifier-FID. The GAN mechanics are in `lesson7.gan`."""

from lesson7.wgan.data import ImageBatches, load_images, to_gan_range
from lesson7.wgan.train import evaluate_fid, fid_classifier, train_wgan

__all__ = ["ImageBatches", "evaluate_fid", "fid_classifier", "load_images", "to_gan_range",
           "train_wgan"]
