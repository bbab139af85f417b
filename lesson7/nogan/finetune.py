"""GAN fine-tuning of a pretrained restoration U-Net against a pretrained critic (NoGAN step 4).

Scope: from two run folders to a third. `load_generator(run)` rebuilds the U-Net of a
`lesson7 restore train` run, `load_critic(run)` the critic of `lesson7 gan critic` (or of an
earlier GAN run), and `finetune(cfg)` puts them in `GANLearner.from_learners` on the generator
run's own (low-res, high-res) pairs. Training is at a constant LR (the lesson's `fit(40, 1e-4)`),
over one size or several in turn (progressive resizing: the lesson's 128 px then 192 px, with the
batch size scaled by (first/size)^2 as in `restore train`). After every epoch it writes

- OUT/model.safetensors + .json: the generator in `restore` format, so `lesson7 restore predict
  OUT` and `lesson7 restore eval OUT` work on a GAN run as on a restoration run;
- OUT/critic.safetensors + .json: the critic, ready for another critic/GAN cycle (DeOldify);
- OUT/state/: both optimizers and the progress, so an interrupted run resumes at
  the next epoch; OUT/metrics.json: the per-epoch history (gen_loss, critic_loss), with
  `"complete": true` once every stage is done.

A NaN/inf loss or weight stops training before that epoch's checkpoint is written (GANTrainer),
so the files on disk are always the last good epoch.
Refs: REFERENCE §2.3 step 4-5 and §5 (DeOldify NoGAN); https://www.fast.ai/posts/2019-05-03-decrappify.html.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lesson7.gan.learner import GANLearner
from lesson7.gan.switchers import AdaptiveGANSwitcher
from lesson7.losses.gan import AdaptiveLoss
from lesson7.models.critic import gan_critic
from lesson7.restore.restorer import Restorer, UnetConfig, resolve_checkpoint
from lesson7.train.callbacks import Callback
from lesson7.train.checkpoint import (
    atomic_write_json,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from lesson7.train.learner import Learner, pick_device
from lesson7.train.optim import adamw

CRITIC_NAME = "critic"  # OUT/critic.safetensors in critic runs and GAN runs alike


# -- the two pretrained nets ---------------------------------------------------------------------
def load_generator(run: str | Path, device: str | torch.device = "cpu"
                   ) -> tuple[nn.Module, UnetConfig, dict[str, Any]]:
    """(U-Net, its UnetConfig, checkpoint metadata) of a `restore train` (or GAN) run folder."""
    ckpt = resolve_checkpoint(run)
    restorer = Restorer.load(ckpt, device)
    return restorer.model, restorer.cfg, read_metadata(ckpt)


def load_critic(run: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(gan_critic, metadata) of a `gan critic` run folder (or a GAN run, which saves one too)."""
    path = Path(run) / f"{CRITIC_NAME}.safetensors" if Path(run).is_dir() else Path(run)
    if not path.is_file():
        raise ValueError(f"--critic {run}: no {CRITIC_NAME}.safetensors there; pass the --out "
                         "folder of `lesson7 gan critic`")
    meta = read_metadata(path)
    critic = gan_critic(meta.get("n_channels", 3), meta.get("nf", 128), meta.get("n_blocks", 3))
    load_checkpoint(path, critic)  # another architecture -> one readable ValueError
    return critic.to(device), meta


def _restore_args(run: Path) -> argparse.Namespace:
    """The `restore train` flags recorded in `run`/config.json, following GAN runs back to the
    restoration run that made the data."""
    cfg_path = run / "config.json"
    if not cfg_path.is_file():
        raise ValueError(f"--generator {run}: no config.json; pass the --out folder of "
                         "`lesson7 restore train` or `lesson7 gan train`")
    cfg = json.loads(cfg_path.read_text())
    if "generator" in cfg and "hr" not in cfg:  # a GAN run: its data is its generator's
        return _restore_args(Path(cfg["generator"]))
    opt = {k: cfg.get(k) for k in ("lowres", "crappify", "degrade", "loss", "feature_weights",
                                   "workers", "valid_pct")}
    return argparse.Namespace(
        hr=[Path(h) for h in cfg["hr"]], lowres=Path(opt["lowres"]) if opt["lowres"] else None,
        crappify=opt["crappify"], degrade=opt["degrade"], loss=opt["loss"] or "mse",
        feature_weights=opt["feature_weights"], workers=opt["workers"],
        seed=cfg.get("seed", 42), valid_pct=opt["valid_pct"] or 0.1, out=run)


def run_pairs(run: str | Path, hr: str | Path | None = None, lowres: str | Path | None = None
              ) -> tuple[list[tuple[Path, Path]], argparse.Namespace]:
    """The (lr, hr) pairs a generator run trained on (its crappified inputs are reused, and
    remade only if missing), or `lowres`/`hr` folders given instead; plus the run's flags."""
    from lesson7.data.pairs import find_pairs
    from lesson7.tasks.restore import make_pairs  # the run folder's own layout (OUT/lowres/...)

    args = _restore_args(Path(run))
    if lowres is not None or hr is not None:
        if lowres is None or hr is None:
            raise ValueError("--hr and --lowres go together (or neither: the generator run's data)")
        return find_pairs(lowres, hr), args
    return make_pairs(args), args


def pixel_loss(name: str, feature_weights: str | None = None) -> nn.Module:
    """The generator run's loss by its `--loss` name: the GAN's pixel term (MSE in the lesson)."""
    from lesson7.losses import FeatureLoss, L1LossFlat, MSELossFlat

    if name == "feature":
        return FeatureLoss.from_pretrained("vgg16_bn", weights_path=feature_weights)
    losses = {"mse": MSELossFlat, "l1": L1LossFlat}
    if name not in losses:
        raise ValueError(f"unknown generator loss {name!r}; choose from mse, l1, feature")
    return losses[name]()


# -- configuration -------------------------------------------------------------------------------
@dataclass
class GANTrainConfig:
    """`lesson7 gan train`: the lesson's GAN stage, defaults from REFERENCE §2.3 step 4."""

    generator: str
    """Run folder of `lesson7 restore train` (or of an earlier `gan train`)."""
    critic: str
    """Run folder of `lesson7 gan critic` (or of an earlier `gan train`)."""
    out: str = "runs/gan"
    sizes: list[int] = field(default_factory=lambda: [128])
    """Training sizes in turn (progressive resizing), e.g. [128, 192]."""
    epochs: list[int] = field(default_factory=lambda: [40])
    """Epochs per size (one value: the same for every size)."""
    lrs: list[float] = field(default_factory=lambda: [1e-4])
    """Constant LR per size (one value: the same for every size); critic batches x mult_lr."""
    bs: int = 32
    """Batch size at the first size, scaled by (first/size)^2 at later sizes."""
    weights_gen: tuple[float, float] = (1.0, 50.0)
    """(adversarial, pixel) weights of the generator loss."""
    critic_thresh: float = 0.65
    """AdaptiveGANSwitcher: the critic trains until its batch loss is below this."""
    mult_lr: float = 5.0
    wd: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.99)
    """Adam betas; beta1 = 0 because "GANs hate momentum"."""
    keep_every: int = 0
    """Also keep the generator of every N-th epoch under OUT/snapshots (0: only the last)."""
    hr: str | None = None
    lowres: str | None = None
    device: str = "auto"
    seed: int = 42

    def __post_init__(self) -> None:
        n = len(self.sizes)
        if n == 0 or any(s < 16 for s in self.sizes):
            raise ValueError(f"--size values must be >= 16 px, got {self.sizes}")
        for flag, values in (("--epochs", self.epochs), ("--lr", self.lrs)):
            if len(values) not in (1, n):
                raise ValueError(f"{flag} needs 1 or {n} values (one per --size), got {values}")
        self.epochs = list(self.epochs) * (n if len(self.epochs) == 1 else 1)
        self.lrs = list(self.lrs) * (n if len(self.lrs) == 1 else 1)
        if any(e < 1 for e in self.epochs):
            raise ValueError(f"--epochs must be >= 1, got {self.epochs}")
        if any(lr <= 0 for lr in self.lrs):
            raise ValueError(f"--lr must be > 0, got {self.lrs}")
        if self.bs < 1:
            raise ValueError(f"--bs must be >= 1, got {self.bs}")
        if len(self.weights_gen) != 2 or min(self.weights_gen) < 0:
            raise ValueError(f"--weights-gen must be two numbers >= 0, got {self.weights_gen}")
        if self.mult_lr <= 0:
            raise ValueError(f"--mult-lr must be > 0, got {self.mult_lr}")
        if self.keep_every < 0:
            raise ValueError(f"--keep-every must be >= 0, got {self.keep_every}")
        if not Path(self.generator).is_dir():
            raise ValueError(f"--generator must be a run folder, got {self.generator!r}")
        self.weights_gen = tuple(self.weights_gen)
        self.betas = tuple(self.betas)

    def stages(self) -> list[tuple[int, int, float, int]]:
        """(size, epochs, lr, bs) per stage."""
        first = self.sizes[0]
        return [(s, e, lr, max(1, round(self.bs * (first / s) ** 2)))
                for s, e, lr in zip(self.sizes, self.epochs, self.lrs, strict=True)]


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
        arch = {k: self.critic_meta[k] for k in ("n_channels", "nf", "n_blocks")
                if k in self.critic_meta}
        save_checkpoint(self.out / CRITIC_NAME, learn.critic, task="gan-critic", size=self.size,
                        **arch)
        save_state(learn, self.out / "state", stage=self.stage, epochs_done=done,
                   history=self.history)
        atomic_write_json(self.out / "metrics.json",
                          {"task": "gan", "complete": False, "history": self.history})

    def save_generator(self, learn: GANLearner, path: Path) -> None:
        was_training = learn.generator.training  # Restorer puts the model in eval mode
        keep = {k: self.gen_meta.get(k) for k in ("run_config", "degrade")}
        Restorer(learn.generator, self.cfg, learn.device).save(
            path, **keep, train_size=self.size, gan=asdict(self.config),
            gan_epochs=len(self.history))
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


def load_state(learn: GANLearner, out: Path) -> dict[str, Any]:
    """Load the weights and optimizers a GAN run left in `out`; returns its progress."""
    load_checkpoint(resolve_checkpoint(out), learn.generator)
    load_checkpoint(out / f"{CRITIC_NAME}.safetensors", learn.critic)
    trainer = learn.gan_trainer
    load_checkpoint(out / "state" / "opt_gen", nn.Module(), trainer.opt_gen)
    load_checkpoint(out / "state" / "opt_critic", nn.Module(), trainer.opt_critic)
    return json.loads((out / "state" / "progress.json").read_text())


# -- the stage -------------------------------------------------------------------------------------
def _same_run(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = ("generator", "critic", "sizes", "epochs", "lrs", "weights_gen", "hr", "lowres")
    return all(json.dumps(old.get(k)) == json.dumps(new.get(k)) for k in keys)


def finetune(config: GANTrainConfig, progress: bool | None = None,
             cbs: Sequence[Callback] = ()) -> dict[str, Any]:
    """Run (or resume) the GAN stage described by `config`; returns metrics.json's content.

    `cbs`: extra callbacks for the GAN learner (e.g. to watch or stop the run).
    """
    from lesson7.models.unet import unet_splitter
    from lesson7.tasks.restore import build_data

    out = Path(config.out)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    generator, unet_cfg, gen_meta = load_generator(config.generator, device)
    critic, critic_meta = load_critic(config.critic, device)
    pairs, run_args = run_pairs(config.generator, config.hr, config.lowres)
    bicubic = run_args.degrade is not None

    resume = (out / "state" / "progress.json").is_file()
    saved_cfg = json.loads((out / "config.json").read_text()) if resume else {}
    if resume and not _same_run(saved_cfg, asdict(config)):
        raise ValueError(f"--out {out} holds a GAN run with other settings; use a new --out "
                         "folder (or delete that one) to start afresh")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", asdict(config))

    stages = config.stages()
    size0, _, lr0, bs0 = stages[0]
    data = build_data(pairs, size0, bs0, bicubic, run_args.valid_pct, run_args.workers)
    gen_learn = Learner(generator, data, pixel_loss(run_args.loss, run_args.feature_weights),
                        splitter=unet_splitter, wd=config.wd, path=out, device=device,
                        progress=progress)
    critic_learn = Learner(critic, data, AdaptiveLoss(nn.BCEWithLogitsLoss()), wd=config.wd,
                           path=out, device=device, progress=progress)
    saver = SaveGANEpoch(out, unet_cfg, gen_meta, critic_meta, config)
    learn = GANLearner.from_learners(
        gen_learn, critic_learn, weights_gen=config.weights_gen,
        switcher=AdaptiveGANSwitcher(critic_thresh=config.critic_thresh), mult_lr=config.mult_lr,
        opt_func=partial(adamw, betas=config.betas), lr=lr0, wd=config.wd, path=out,
        device=device, cbs=[saver, *cbs], progress=progress)

    start_stage, done_in_stage = 0, 0
    if resume:
        meta = load_state(learn, out)
        start_stage, done_in_stage = meta["stage"], meta["epochs_done"]
        saver.history = list(meta.get("history", []))
        print(f"resuming {out}: stage {start_stage + 1}/{len(stages)}, "
              f"{done_in_stage} epoch(s) done")

    t0 = time.perf_counter()
    for i, (size, n_epochs, lr, bs) in enumerate(stages):
        before = done_in_stage if i == start_stage else 0
        if i < start_stage or before >= n_epochs:
            continue
        if (size, bs) != (size0, bs0) or learn.data is not data:
            learn.data = build_data(pairs, size, bs, bicubic, run_args.valid_pct,
                                    run_args.workers).to(learn.device)
        saver.stage, saver.size, saver.epochs_before = i, size, before
        print(f"GAN stage {i + 1}/{len(stages)}: size {size}, bs {bs}, lr {lr:g} "
              f"(critic x{config.mult_lr:g}), {n_epochs - before} epoch(s)")
        learn.fit(n_epochs - before, lr)

    learn.show_results(out / "results.png", *next(iter(learn.data.valid_dl)), n=4,
                       denorm=lambda t: learn.data.denorm(t).clamp(0, 1))
    metrics = {"task": "gan", "complete": True, "history": saver.history,
               "n_pairs": len(pairs), "train_seconds": time.perf_counter() - t0,
               "final": saver.history[-1] if saver.history else {}}
    atomic_write_json(out / "metrics.json", metrics)
    return metrics
