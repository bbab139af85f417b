"""`train_wgan(cfg)`: the lesson's WGAN (noise -> image) on any image folder, with classifier-FID.

`cfg.data` is an image folder (searched recursively), an archive of one, or a folder holding the MNIST
IDX files (`train-images-idx3-ubyte.gz`). Images are resized (short side) and centre-cropped to
`--size`, scaled to [-1, 1] (the lesson's normalize(0.5, 0.5) on y), and held in memory as uint8.
Writes to --out: `samples_epoch{N}.png` (a 8x8 grid from fixed noise) per epoch, `last.safetensors`
(+ .json) per epoch, `generator.safetensors`, `config.json`, `metrics.json` with the per-epoch
losses and {"fid", "fid_real_vs_real", "n_samples"} (see `lesson7.gan.fid`). FID needs a
classifier: `--fid-classifier CKPT` (a `mnist_resnet` checkpoint from `lesson7 mnist`); without it,
on MNIST IDX data (which has labels) one is trained for `--fid-classifier-epochs` and saved in
--out; otherwise FID is null.
Refs: lesson7-wgan.ipynb; Arjovsky et al. 2017 (arXiv:1701.07875); Gulrajani et al. 2017
(arXiv:1704.00028).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lesson7.configs.wgan import WGANConfig
from lesson7.gan.fid import ClassifierFeatures, classifier_fid, fit_classifier
from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.models.mnist import mnist_resnet
from lesson7.models.wgan import basic_critic, basic_generator
from lesson7.runs import RunFolder
from lesson7.train.callbacks import Callback, CancelFit, SaveEveryEpoch
from lesson7.train.checkpoint import load_checkpoint, save_checkpoint
from lesson7.train.learner import pick_device
from lesson7.wgan.data import ImageBatches, load_images, to_gan_range

__all__ = ["train_wgan", "evaluate_fid", "fid_classifier"]


# -- run ----------------------------------------------------------------------------------------
class EpochSamples(Callback):
    """Save a grid of samples from fixed noise after every epoch."""

    order = 80

    def __init__(self, out: Path, noise: Tensor) -> None:
        self.out, self.noise = out, noise

    def after_epoch(self, learn: GANLearner) -> None:
        learn.show_results(self.out / f"samples_epoch{learn.epoch + 1}.png", self.noise,
                           n=len(self.noise))


class TimeBudget(Callback):
    """Stop training (cleanly, after a batch) once `minutes` of wall time have passed."""

    order = 70

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60

    def before_fit(self, learn: GANLearner) -> None:
        self.t0 = time.perf_counter()

    def after_batch(self, learn: GANLearner) -> None:
        if time.perf_counter() - self.t0 > self.seconds:
            raise CancelFit


def fid_classifier(cfg: WGANConfig, images: Tensor, labels: Tensor | None, out: Path):
    """The classifier whose penultimate features define FID, or None (see module docstring)."""
    if cfg.channels != 1:
        return None
    model = mnist_resnet()
    if cfg.fid_classifier:
        load_checkpoint(cfg.fid_classifier, model)
    elif labels is not None:
        cached = out / "fid_classifier.safetensors"
        if cached.exists():
            load_checkpoint(cached, model)
        else:
            acc = fit_classifier(model, to_gan_range(images), labels,
                                 epochs=cfg.fid_classifier_epochs, seed=cfg.seed)
            save_checkpoint(cached, model, trained_on=cfg.data, epochs=cfg.fid_classifier_epochs,
                            valid_accuracy=acc)
    else:
        return None
    return model


def evaluate_fid(learn: GANLearner, classifier, images: Tensor, n: int, noise_sz: int,
                 seed: int = 0) -> dict:
    """classifier-FID of the generator vs real images, with real-vs-real at the same count."""
    if classifier is None:
        return {"fid": None, "fid_real_vs_real": None, "n_samples": 0,
                "fid_note": "no classifier for these images: pass --fid-classifier"}
    n = min(n, len(images) // 2)
    g = torch.Generator().manual_seed(seed + 1)
    order = torch.randperm(len(images), generator=g)
    real, ref = images[order[:n]], images[order[n:2 * n]]
    real_f = to_gan_range(real.float().mean(1, keepdim=True).to(torch.uint8))
    mean, std = float((real_f + 1).div(2).mean()), float((real_f + 1).div(2).std())
    feats = ClassifierFeatures(classifier.to(learn.device), size=28, mean=[mean], std=[std])
    noise = torch.randn(n, noise_sz, 1, 1, generator=g)
    fake = (learn.generate(b).mean(1, keepdim=True) for b in noise.split(500))
    gray = (to_gan_range(b).mean(1, keepdim=True) for b in real.split(500))
    gray_ref = (to_gan_range(b).mean(1, keepdim=True) for b in ref.split(500))
    return classifier_fid(feats, fake, gray, gray_ref)


def train_wgan(cfg: WGANConfig) -> dict[str, Any]:
    """Train, sample and score one WGAN; returns the metrics written to metrics.json."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    run = RunFolder(cfg.out)
    out = run.path
    run.write_config(cfg)
    t0 = time.perf_counter()
    images, labels = load_images(cfg.data, cfg.size, cfg.channels, cfg.limit)
    data = NoiseData(ImageBatches(images, cfg.bs, cfg.seed), cfg.noise_sz)
    gen = basic_generator(cfg.size, cfg.channels, cfg.noise_sz, cfg.n_features, cfg.n_extra_layers)
    critic = basic_critic(cfg.size, cfg.channels, cfg.n_features, cfg.n_extra_layers,
                          norm_type=None if cfg.gp else "batch")  # no BatchNorm with GP
    noise = torch.randn(64, cfg.noise_sz, 1, 1, generator=torch.Generator().manual_seed(cfg.seed))
    learn = GANLearner.wgan(data, gen, critic, clip=None if cfg.gp else cfg.clip,
                            gp_weight=cfg.gp_weight if cfg.gp else 0.0, n_crit=cfg.n_crit,
                            lr=cfg.lr, path=out, device=device,
                            cbs=[EpochSamples(out, noise), SaveEveryEpoch(out / "last"),
                                 *([TimeBudget(cfg.max_minutes)] if cfg.max_minutes else [])])
    classifier = fid_classifier(cfg, images, labels, out)
    untrained = evaluate_fid(learn, classifier, images, cfg.fid_samples, cfg.noise_sz, cfg.seed)
    t_train = time.perf_counter()
    learn.fit(cfg.epochs, cfg.lr)
    train_s = time.perf_counter() - t_train
    save_checkpoint(out / "generator.safetensors", learn.generator, size=cfg.size,
                    channels=cfg.channels, noise_sz=cfg.noise_sz, n_features=cfg.n_features,
                    n_extra_layers=cfg.n_extra_layers)
    fid = evaluate_fid(learn, classifier, images, cfg.fid_samples, cfg.noise_sz, cfg.seed)
    metrics = {"history": learn.recorder.history, **fid,
               "generator_steps": len(learn.gan_trainer.gen_history),
               "critic_steps": len(learn.gan_trainer.critic_history),
               "fid_untrained_generator": untrained["fid"], "n_images": len(images),
               "train_seconds": train_s, "total_seconds": time.perf_counter() - t0,
               "variant": "wgan-gp" if cfg.gp else "wgan-clip"}
    run.write_metrics(metrics)
    return metrics


