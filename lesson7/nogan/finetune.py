"""GAN fine-tuning of a pretrained restoration U-Net against a pretrained critic (NoGAN step 4).

Scope: from two run folders to a third. `load_generator(run)` rebuilds the U-Net of a
`lesson7 restore train` run, `load_critic(run)` the critic of `lesson7 gan critic` (or of an
earlier GAN run), and `gan_finetune(cfg)` puts them in `GANLearner.from_learners` on the generator
run's own (low-res, high-res) pairs. Training is at a constant LR (the lesson's `fit(40, 1e-4)`),
over one size or several in turn (progressive resizing: the lesson's 128 px then 192 px, with the
batch size scaled by (first/size)^2 as in `restore train`). After every epoch it writes

- OUT/model.safetensors + .json: the generator in `restore` format, so `lesson7 restore predict
  OUT` and `lesson7 restore eval OUT` work on a GAN run as on a restoration run;
- OUT/critic.safetensors + .json: the critic, ready for another critic/GAN cycle (DeOldify);
- OUT/state/: both optimizers and the progress (`lesson7.runs`), so an interrupted run resumes
  at the next epoch, and it is deleted when the run ends;
- OUT/metrics.json: the per-epoch history (gen_loss, critic_loss), with `"complete": true`
  once every stage is done.

A NaN/inf loss or weight stops training before that epoch's checkpoint is written (GANTrainer),
so the files on disk are always the last good epoch.
Refs: lesson7-superres-gan.ipynb; DeOldify's NoGAN, https://www.fast.ai/posts/2019-05-03-decrappify.html.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lesson7.configs.nogan import GANTrainConfig
from lesson7.configs.restore import RestoreTrainConfig
from lesson7.files import atomic_write_json
from lesson7.gan.learner import GANLearner
from lesson7.gan.switchers import AdaptiveGANSwitcher, GANSwitcher
from lesson7.losses.gan import AdaptiveLoss
from lesson7.models.critic import make_critic
from lesson7.nogan.critic import CRITIC_NAME
from lesson7.restore.restorer import Restorer, UnetConfig, resolve_checkpoint
from lesson7.runs import RunFolder, config_dict
from lesson7.train.callbacks import Callback
from lesson7.train.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from lesson7.train.learner import Learner, pick_device
from lesson7.train.optim import adamw


# -- the two pretrained nets ---------------------------------------------------------------------
def load_generator(run: str | Path, device: str | torch.device = "cpu"
                   ) -> tuple[nn.Module, UnetConfig, dict[str, Any]]:
    """(U-Net, its UnetConfig, checkpoint metadata) of a `restore train` (or GAN) run folder."""
    try:
        ckpt = resolve_checkpoint(run)
    except ValueError as e:
        raise ValueError(f"--generator {run}: {e}; pass the --out folder of `lesson7 restore "
                         "train` or `lesson7 gan train`") from None
    restorer = Restorer.load(ckpt, device)
    return restorer.model, restorer.cfg, read_metadata(ckpt)


def load_critic(run: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(critic, metadata) of a `gan critic` run folder (or a GAN run, which saves one too); the
    architecture ("lesson" gan_critic or "encoder") is read from the checkpoint's metadata."""
    path = Path(run) / f"{CRITIC_NAME}.safetensors" if Path(run).is_dir() else Path(run)
    if not path.is_file():
        raise ValueError(f"--critic {run}: no {CRITIC_NAME}.safetensors there; pass the --out "
                         "folder of `lesson7 gan critic`")
    meta = read_metadata(path)
    critic = make_critic(meta.get("arch", "lesson"), meta.get("n_channels", 3), meta.get("nf", 128),
                         meta.get("n_blocks", 3), pretrained=False)  # the file holds every weight
    load_checkpoint(path, critic)  # another architecture -> one readable ValueError
    return critic.to(device), meta


def restore_config_of(run: str | Path) -> RestoreTrainConfig:
    """The `restore train` config that made the generator in `run` (a GAN run's generator is
    followed back to the restoration run whose data it trained on)."""
    folder = RunFolder(run)
    try:
        saved = folder.read_config()
    except ValueError:
        raise ValueError(f"--generator {run}: no config.json; pass the --out folder of "
                         "`lesson7 restore train` or `lesson7 gan train`") from None
    if saved.get("config") == "GANTrainConfig" or ("generator" in saved and "hr" not in saved):
        return restore_config_of(saved["generator"])
    known = {f.name for f in fields(RestoreTrainConfig)}
    # `out` is where the run is now (the saved one may be relative to another directory)
    return RestoreTrainConfig(**{k: v for k, v in saved.items() if k in known and k != "out"},
                              out=folder.path)


def run_pairs(run: str | Path, hr: str | Path | None = None, lowres: str | Path | None = None
              ) -> tuple[list[tuple[Path, Path]], RestoreTrainConfig]:
    """The (lr, hr) pairs a generator run trained on (its inputs are reused, and remade only
    if missing), or `lowres`/`hr` folders given instead; plus that run's config."""
    from lesson7.data.pairs import find_pairs
    from lesson7.restore.train import make_pairs

    cfg = restore_config_of(run)
    if lowres is not None or hr is not None:
        if lowres is None or hr is None:
            raise ValueError("--hr and --lowres go together (or neither: the generator run's data)")
        return find_pairs(lowres, hr), cfg
    return make_pairs(cfg), cfg


def pixel_loss(name: str, feature_weights: str | None = None) -> nn.Module:
    """The generator run's loss by its `--loss` name: the GAN's pixel term (MSE in the lesson)."""
    from lesson7.losses import FeatureLoss, L1LossFlat, MSELossFlat

    if name == "feature":
        return FeatureLoss.from_pretrained("vgg16_bn", weights_path=feature_weights)
    losses = {"mse": MSELossFlat, "l1": L1LossFlat}
    if name not in losses:
        raise ValueError(f"unknown generator loss {name!r}; choose from mse, l1, feature")
    return losses[name]()


# -- checkpoints after every epoch ----------------------------------------------------------------
class SaveGANEpoch(Callback):
    """After each epoch: generator (restore format), critic, resumable state, metrics.json.

    Order 99: after GANTrainer's finiteness check and the Recorder's history row.
    """

    order = 99

    def __init__(self, out: Path, cfg: UnetConfig, gen_meta: dict[str, Any],
                 critic_meta: dict[str, Any], config: GANTrainConfig) -> None:
        self.out, self.cfg, self.gen_meta, self.critic_meta = out, cfg, gen_meta, critic_meta
        self.config = config
        self.history: list[dict[str, Any]] = []
        self.stage, self.size, self.epochs_before = 0, 0, 0

    def after_epoch(self, learn: GANLearner) -> None:
        done = self.epochs_before + learn.epoch + 1      # epochs finished in this stage
        row = {k: _json_number(v) for k, v in learn.recorder.history[-1].items()}
        row.update(stage=self.stage, size=self.size, stage_epoch=done)
        row.pop("epoch", None)
        self.history.append({"epoch": len(self.history), **row})
        self.save_generator(learn, self.out / "model")
        if self.config.keep_every and len(self.history) % self.config.keep_every == 0:
            self.save_generator(learn, self.out / "snapshots" / f"gen_e{len(self.history):03d}")
        arch = {k: self.critic_meta[k] for k in ("arch", "n_channels", "nf", "n_blocks")
                if k in self.critic_meta}
        save_checkpoint(self.out / CRITIC_NAME, learn.critic, task="gan-critic", size=self.size,
                        **arch)
        save_state(learn, RunFolder(self.out).state_dir, stage=self.stage, epochs_done=done,
                   history=self.history, run=gan_settings(self.config))
        atomic_write_json(self.out / "metrics.json",
                          {"task": "gan", "complete": False, "history": self.history})

    def save_generator(self, learn: GANLearner, path: Path) -> None:
        was_training = learn.generator.training  # Restorer puts the model in eval mode
        keep = {k: self.gen_meta.get(k) for k in ("run_config", "degrade")}
        Restorer(learn.generator, self.cfg, learn.device).save(
            path, **keep, train_size=self.size, gan=config_dict(self.config),
            gan_epochs=len(self.history), run=gan_settings(self.config))
        learn.generator.train(was_training)


def _json_number(v: Any) -> Any:
    """NaN/inf -> None: JSON has no NaN (gen_loss is NaN in an epoch with only critic batches)."""
    return None if isinstance(v, float) and not math.isfinite(v) else v


def save_state(learn: GANLearner, folder: Path, **progress: Any) -> None:
    """Both optimizers and the progress, for resuming; the weights are OUT/model and
    OUT/critic, written just before. progress.json goes last: it marks the state complete
    (a crash before it repeats at most one epoch)."""
    trainer = learn.gan_trainer
    save_checkpoint(folder / "opt_gen", nn.Module(), trainer.opt_gen)  # no weights, only state
    save_checkpoint(folder / "opt_critic", nn.Module(), trainer.opt_critic)
    atomic_write_json(folder / "progress.json", progress)


def load_state(learn: GANLearner, out: Path) -> None:
    """Load the weights and optimizers a GAN run left in `out`."""
    state = RunFolder(out).state_dir
    load_checkpoint(resolve_checkpoint(out), learn.generator)
    load_checkpoint(Path(out) / f"{CRITIC_NAME}.safetensors", learn.critic)
    trainer = learn.gan_trainer
    load_checkpoint(state / "opt_gen", nn.Module(), trainer.opt_gen)
    load_checkpoint(state / "opt_critic", nn.Module(), trainer.opt_critic)


# -- the stage -------------------------------------------------------------------------------------
GAN_SETTINGS = ("generator", "critic", "sizes", "epochs", "lrs", "bs", "weights_gen",
                "critic_thresh", "mult_lr", "wd", "hr", "lowres", "seed")
"""Fields that define a GAN run: its saved state resumes only under the same ones."""


def gan_settings(config: GANTrainConfig) -> dict[str, Any]:
    return {k: v for k, v in config_dict(config).items() if k in GAN_SETTINGS}


def _finished(run: RunFolder, config: GANTrainConfig) -> dict[str, Any] | None:
    """metrics.json of the finished GAN run of `config` in its --out (said on stdout: nothing to
    do), None when there is none; a ValueError naming the folder when a finished run of other
    settings is there."""
    metrics = run.read_metrics()
    if not (metrics and metrics.get("complete") and (run.path / "model.safetensors").is_file()):
        return None
    from lesson7.train.checkpoint import checkpoint_metadata

    saved = checkpoint_metadata(run.path / "model.safetensors").get("run")
    settings = json.loads(json.dumps(gan_settings(config), default=str))
    changed = sorted(k for k in set(settings) | set(saved or {})
                     if (saved or {}).get(k) != settings.get(k))
    if changed:
        why = (f"other settings ({', '.join(changed)})" if saved is not None
               else "settings that are not recorded in it")
        raise ValueError(f"--out {run.path} already holds a finished GAN run with {why}; "
                         f"use a new --out (nothing was changed)")
    print(f"{run.path} already holds the finished GAN run of these settings "
          f"({run.path / 'model.safetensors'}); nothing to do")
    return metrics


def gan_finetune(config: GANTrainConfig, progress: bool | None = None,
                 cbs: Sequence[Callback] = (), switcher: GANSwitcher | None = None) -> dict[str, Any]:
    """Run (or resume) the GAN stage described by `config`; returns metrics.json's content.

    `cbs`: extra callbacks for the GAN learner (e.g. to watch or stop the run).
    `switcher`: when to train which net (default: the lesson's `AdaptiveGANSwitcher` at
    `config.critic_thresh`); a benchmark's control replays a GAN run's counts with
    `ScheduledGANSwitcher`. It is not part of the saved settings: give it again on resume.
    """
    from lesson7.models.unet import unet_splitter
    from lesson7.restore.train import build_data

    run = RunFolder(config.out)
    out = run.path
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    resume = run.resume_point(gan_settings(config), meta_file="progress.json",
                              config_cls=type(config))
    if resume is None:  # a finished run is never trained over (its generator would be lost)
        done = _finished(run, config)
        if done is not None:
            return done
    generator, unet_cfg, gen_meta = load_generator(config.generator, device)
    critic, critic_meta = load_critic(config.critic, device)
    pairs, gen_cfg = run_pairs(config.generator, config.hr, config.lowres)
    bicubic = gen_cfg.degrade is not None
    run.write_config(config)

    stages = config.stages()
    size0, _, lr0, bs0 = stages[0]
    data = build_data(pairs, size0, bs0, bicubic, gen_cfg.valid_pct, gen_cfg.workers)
    gen_learn = Learner(generator, data, pixel_loss(gen_cfg.loss, gen_cfg.feature_weights),
                        splitter=unet_splitter, wd=config.wd, path=out, device=device,
                        progress=progress)
    critic_learn = Learner(critic, data, AdaptiveLoss(nn.BCEWithLogitsLoss()), wd=config.wd,
                           path=out, device=device, progress=progress)
    saver = SaveGANEpoch(out, unet_cfg, gen_meta, critic_meta, config)
    learn = GANLearner.from_learners(
        gen_learn, critic_learn, weights_gen=config.weights_gen,
        switcher=switcher or AdaptiveGANSwitcher(critic_thresh=config.critic_thresh),
        mult_lr=config.mult_lr,
        opt_func=partial(adamw, betas=config.betas), lr=lr0, wd=config.wd, path=out,
        device=device, cbs=[saver, *cbs], progress=progress)

    start_stage, done_in_stage = 0, 0
    if resume:
        load_state(learn, out)
        start_stage, done_in_stage = resume["stage"], resume["epochs_done"]
        saver.history = list(resume.get("history", []))
        print(f"resuming {out}: stage {start_stage + 1}/{len(stages)}, "
              f"{done_in_stage} epoch(s) done")

    t0 = time.perf_counter()
    for i, (size, n_epochs, lr, bs) in enumerate(stages):
        before = done_in_stage if i == start_stage else 0
        if i < start_stage or before >= n_epochs:
            continue
        if (size, bs) != (size0, bs0) or learn.data is not data:
            learn.data = build_data(pairs, size, bs, bicubic, gen_cfg.valid_pct,
                                    gen_cfg.workers).to(learn.device)
        saver.stage, saver.size, saver.epochs_before = i, size, before
        print(f"GAN stage {i + 1}/{len(stages)}: size {size}, bs {bs}, lr {lr:g} "
              f"(critic x{config.mult_lr:g}), {n_epochs - before} epoch(s)")
        learn.fit(n_epochs - before, lr)
        saved = sum(row["stage"] == i for row in saver.history)
        if saved < n_epochs:  # a callback stopped the fit (CancelFit): keep the resume point
            print(f"GAN stopped early in stage {i + 1}: {saved} of {n_epochs} epoch(s) saved; "
                  f"rerun to resume from {run.state_dir}")
            return {"task": "gan", "complete": False, "history": saver.history,
                    "n_pairs": len(pairs), "final": saver.history[-1] if saver.history else {}}

    learn.show_results(out / "results.png", *next(iter(learn.data.valid_dl)), n=4,
                       denorm=lambda t: learn.data.denorm(t).clamp(0, 1))
    metrics = {"task": "gan", "complete": True, "history": saver.history,
               "n_pairs": len(pairs), "train_seconds": time.perf_counter() - t0,
               "final": saver.history[-1] if saver.history else {}}
    run.write_metrics(metrics)
    run.clear_state()  # finished: the resume point is not needed
    return metrics
