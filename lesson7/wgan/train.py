"""`train_wgan(cfg)`: the lesson's WGAN (noise -> image) on any image folder, with classifier-FID.

`cfg.data` is an image folder (searched recursively), an archive of one, or a folder holding the MNIST
IDX files (`train-images-idx3-ubyte.gz`). Images are resized (short side) and centre-cropped to
`--size`, scaled to [-1, 1] (the lesson's normalize(0.5, 0.5) on y), and held in memory as uint8.
Writes to --out: `samples_epoch{N}.png` (a 8x8 grid from fixed noise) per epoch, `generator.safetensors`,
`config.json`, `metrics.json` with the per-epoch losses and {"fid", "fid_real_vs_real",
"n_samples"} (see `lesson7.gan.fid`), and while training `state/` (`lesson7.runs`): both nets,
both optimizers and the progress after every epoch, so rerunning the same command after an
interruption goes on from the last finished epoch; the state is deleted when the run ends
(after its epochs, or when `--max-minutes` runs out). FID needs a
classifier: `--fid-classifier CKPT` (a `mnist_resnet` checkpoint from `lesson7 mnist`); without it,
on MNIST IDX data (which has labels) one is trained for `--fid-classifier-epochs` and saved in
--out; otherwise FID is null.
Refs: lesson7-wgan.ipynb; Arjovsky et al. 2017 (arXiv:1701.07875); Gulrajani et al. 2017
(arXiv:1704.00028).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lesson7.configs.wgan import WGANConfig
from lesson7.files import atomic_write_json
from lesson7.gan.ema import GeneratorEMA
from lesson7.gan.fid import ClassifierFeatures, classifier_fid, fit_classifier
from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.models.mnist import mnist_resnet
from lesson7.models.wgan import basic_critic, basic_generator
from lesson7.runs import RunFolder, config_dict
from lesson7.train.callbacks import Callback, TimeBudget
from lesson7.train.checkpoint import load_checkpoint, read_metadata, save_checkpoint
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


WGAN_SETTINGS = ("data", "size", "channels", "bs", "epochs", "lr", "gp", "clip", "gp_weight",
                 "n_crit", "noise_sz", "n_features", "n_extra_layers", "limit", "ema", "seed")
"""Fields that define a WGAN run: its saved state resumes only under the same ones."""


class SaveWGANState(Callback):
    """After each epoch: both nets, both optimizers and the progress into OUT/state/.

    Order 99: after GANTrainer's finiteness check and the Recorder's history row. progress.json
    goes last: it marks the state complete (a crash before it repeats at most one epoch).
    """

    order = 99

    def __init__(self, run: RunFolder, settings: dict[str, Any], fid_untrained_generator: Any,
                 done: dict[str, Any], ema: GeneratorEMA | None = None) -> None:
        self.run, self.settings, self.done, self.ema = run, settings, done, ema
        self.fid_untrained_generator = fid_untrained_generator

    def before_fit(self, learn: GANLearner) -> None:
        self.t0 = time.perf_counter()

    def after_epoch(self, learn: GANLearner) -> None:
        state, trainer = self.run.state_dir, learn.gan_trainer
        save_checkpoint(state / "nets", learn.model)  # generator and critic
        save_checkpoint(state / "opt_gen", nn.Module(), trainer.opt_gen)  # no weights, only state
        save_checkpoint(state / "opt_critic", nn.Module(), trainer.opt_critic)
        if self.ema is not None:
            save_checkpoint(state / "ema", self.ema.average)
        atomic_write_json(state / "progress.json", {
            "epoch": learn.epoch + 1, "history": learn.recorder.history,
            "generator_steps": self.done["generator_steps"] + len(trainer.gen_history),
            "critic_steps": self.done["critic_steps"] + len(trainer.critic_history),
            "train_seconds": self.done["train_seconds"] + time.perf_counter() - self.t0,
            "fid_untrained_generator": self.fid_untrained_generator, "run": self.settings})


def load_state(learn: GANLearner, run: RunFolder, ema: GeneratorEMA | None) -> None:
    """The nets, optimizers (and weight average) a `SaveWGANState` left in OUT/state/."""
    state, trainer = run.state_dir, learn.gan_trainer
    load_checkpoint(state / "nets", learn.model)
    load_checkpoint(state / "opt_gen", nn.Module(), trainer.opt_gen)
    load_checkpoint(state / "opt_critic", nn.Module(), trainer.opt_critic)
    if ema is not None:
        load_checkpoint(state / "ema", ema.average)


def fid_classifier(cfg: WGANConfig, images: Tensor, labels: Tensor | None, out: Path):
    """The classifier whose penultimate features define FID, or None (see module docstring)."""
    if cfg.channels != 1:
        return None
    model = mnist_resnet()
    if cfg.fid_classifier:
        load_checkpoint(cfg.fid_classifier, model)
    elif labels is not None:
        cached = out / "fid_classifier.safetensors"
        meta = read_metadata(cached) if cached.exists() else {}
        if (meta.get("trained_on"), meta.get("epochs")) == (cfg.data, cfg.fid_classifier_epochs):
            load_checkpoint(cached, model)  # the same data: no need to train it again
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


def train_wgan(cfg: WGANConfig, cbs: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train (or resume: call again with the same config), sample and score one WGAN; returns
    the metrics written to metrics.json. `cbs`: extra callbacks (e.g. to watch the run)."""
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    run = RunFolder(cfg.out)
    out = run.path
    settings = {k: v for k, v in config_dict(cfg).items() if k in WGAN_SETTINGS}
    resume = run.resume_point(settings, meta_file="progress.json", config_cls=type(cfg))
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
                            cbs=[EpochSamples(out, noise),
                                 *([TimeBudget(cfg.max_minutes)] if cfg.max_minutes else [])])
    ema = GeneratorEMA(learn.generator, cfg.ema) if cfg.ema else None
    classifier = fid_classifier(cfg, images, labels, out)
    if resume:
        load_state(learn, run, ema)
        learn.recorder.history = list(resume["history"])
        untrained = {"fid": resume["fid_untrained_generator"]}
        done = {k: resume[k] for k in ("generator_steps", "critic_steps", "train_seconds")}
        print(f"resuming {out}: epoch {resume['epoch'] + 1} of {cfg.epochs}")
    else:
        untrained = evaluate_fid(learn, classifier, images, cfg.fid_samples, cfg.noise_sz, cfg.seed)
        done = {"generator_steps": 0, "critic_steps": 0, "train_seconds": 0.0}
    saver = SaveWGANState(run, settings, untrained["fid"], done, ema)
    t_train = time.perf_counter()
    learn.fit(cfg.epochs, cfg.lr, cbs=[saver, *([ema] if ema else []), *cbs],
              start_epoch=resume["epoch"] if resume else 0)
    train_s = done["train_seconds"] + time.perf_counter() - t_train
    if ema is not None:  # what is saved, scored and sampled from is the average
        ema.copy_to(learn.generator)
    save_checkpoint(out / "generator.safetensors", learn.generator, size=cfg.size,
                    channels=cfg.channels, noise_sz=cfg.noise_sz, n_features=cfg.n_features,
                    n_extra_layers=cfg.n_extra_layers)
    fid = evaluate_fid(learn, classifier, images, cfg.fid_samples, cfg.noise_sz, cfg.seed)
    metrics = {"history": learn.recorder.history, **fid,
               "generator_steps": done["generator_steps"] + len(learn.gan_trainer.gen_history),
               "critic_steps": done["critic_steps"] + len(learn.gan_trainer.critic_history),
               "fid_untrained_generator": untrained["fid"], "n_images": len(images),
               "train_seconds": train_s, "total_seconds": time.perf_counter() - t0,
               "variant": "wgan-gp" if cfg.gp else "wgan-clip", "ema": cfg.ema}
    run.write_metrics(metrics)
    run.clear_state()  # finished (all epochs, or --max-minutes ran out): no resume point left
    return metrics
