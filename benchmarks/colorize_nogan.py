"""Question: does DeOldify's NoGAN stage make a pretrained colorizer better than the same number
of extra steps with its own pixel + feature loss, on held-out photos?

Two modes.

Training (GPU-ready, no LPIPS needed), from a pretrained colorizer generator (`--generator`):
  1. grey inputs (DeOldify's PIL `convert('LA').convert('RGB')`) for every `--hr` photo, and the
     generator's predictions at `--size` ("generated") beside centre crops of the photos ("real")
     (`lesson7.nogan.preds`);
  2. optional critic race (`--race-steps`): both critics, `make_critic("lesson")` (gan_critic)
     and `make_critic("encoder")` (ImageNet EfficientNet-Lite0 + spectral-norm head), trained
     from scratch on generated vs real for each `--race-seeds`; the step at which validation
     accuracy first exceeds 0.6 (median over seeds);
  3. critic pretraining (`--critic`, the one that learns: encoder by default) with the NoGAN
     critic learner (`lesson7.nogan.critic.critic_learner`);
  4. per `--seeds`: a short GAN with DeOldify's settings through `GANLearner.from_learners`:
     generator loss = 1.0 x adversarial + 1.5 x (L1 + VGG16 feature loss, layers before the
     3rd/4th/5th max-pool weighted 20/70/10, DeOldify's), Adam betas (0, 0.9),
     AdaptiveGANSwitcher(critic_thresh=0.65), critic LR x5, lr 1e-5, wd 1e-3; the generator is
     snapshotted every `--snapshot-every` generator steps and scored on a selection split (the
     training photos' 10 % validation split, never the held-out sets) by the FID-style feature
     distance; the best snapshot is kept (DeOldify keeps the best checkpoint by eye);
  5. the CONTROL: the same pretrained generator, the same data, optimiser and LR, for exactly the
     GAN's number of generator steps with the pixel + feature loss only, snapshotted at the
     same steps; the snapshot at the GAN's chosen step is kept.
  Outputs under `--out`: summary.json (settings, race, critic history, per seed the snapshot
  scores, chosen step, steps and times) and seed<N>/{gan,control}_best.safetensors (+ .json),
  fp16 generator weights.

Evaluation (`--eval-only`, CPU, needs the `lpips` package): on held-out photos (BSD100 =
BSDS500 val, and the pets validation split: seeded 10 %, seed 42), through
`lesson7.colorize.evaluate.evaluate_colorizer` (what `lesson7 colorize eval` runs: whole
photos, long side <= `--max-side`, coloured at the render size), scores the grey input, the
pretrained generator, the after-GAN generator and the control against the true colours:
PSNR, SSIM (RGB), LPIPS (AlexNet), colourfulness
(Hasler & Süsstrunk 2003) and the FID-style distance on EfficientNet-Lite0 pooled features
(`lesson7.quality.feature_distance`) between the outputs and the true-colour photos of the same
set; GAN and control as the median (min-max) over seeds. Writes eval.json, eval.md and
gallery.png (the same images across the columns, seed 0).

    # GPU (the lead):
    python benchmarks/colorize_nogan.py --generator RUN --hr .gpu/sr/bsd200 .gpu/sr/pets_train \\
        --out runs/colorize_nogan --device cuda --workers 4 --max-minutes 3
    # CPU, later, here:
    python benchmarks/colorize_nogan.py --eval-only --out runs/colorize_nogan --generator RUN
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn

from lesson7.files import atomic_write_json, atomic_write_text
from lesson7.gan.learner import GANLearner
from lesson7.gan.switchers import AdaptiveGANSwitcher
from lesson7.losses.gan import AdaptiveLoss, accuracy_thresh_expand
from lesson7.train.callbacks import Callback, CancelFit, TimeBudget
from lesson7.train.checkpoint import load_checkpoint, save_checkpoint
from lesson7.train.learner import Learner, pick_device
from lesson7.train.optim import adamw

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
if (SHARED / "weights").is_dir():  # offline VGG16 / AlexNet trunks, found via $LESSON7_WEIGHTS
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))
DEOLDIFY_LAYER_WEIGHTS = (20.0, 70.0, 10.0)  # DeOldify's FeatureLoss (before max-pools 3, 4, 5)
DEOLDIFY_LAYERS = ("relu3_3", "relu4_3", "relu5_3")


def say(*args: Any) -> None:
    print(*args, flush=True)


# -- the colorizer ---------------------------------------------------------------------------
class Colorizer:
    """A pretrained colorizer generator: `model` maps ImageNet-normalised grey RGB (B, 3, H, W)
    to ImageNet-normalised RGB, like every restoration U-Net here; `rebuild()` a fresh copy."""

    def __init__(self, path: Path, device: torch.device) -> None:
        self.path, self.device = Path(path), device
        self.model, self.mean, self.std = _load_generator(self.path, device)

    def fresh(self) -> nn.Module:
        return copy.deepcopy(self.model).to(self.device)

    def norm(self, x: Tensor) -> Tensor:  # [0, 1] -> model input
        return (x - self._m(x)) / self._s(x)

    def denorm(self, x: Tensor) -> Tensor:  # model output -> [0, 1]
        return (x * self._s(x) + self._m(x)).clamp(0, 1)

    def _m(self, x: Tensor) -> Tensor:
        return torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)

    def _s(self, x: Tensor) -> Tensor:
        return torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)


def _load_generator(path: Path, device: torch.device) -> tuple[nn.Module, list, list]:
    """A `lesson7 colorize train` run folder or model file (ChromaUnet: normalised grey RGB in,
    normalised RGB out with the input's luminance); a restore-format run (`lesson7 restore
    train --crappify grey`) also works."""
    from lesson7.colorize.colorizer import TASK, resolve_colorizer
    from lesson7.colorize.colorizer import Colorizer as Trained
    from lesson7.train.checkpoint import read_metadata

    try:
        is_colorizer = read_metadata(resolve_colorizer(path)).get("task") == TASK
    except ValueError:
        is_colorizer = False
    if is_colorizer:
        trained = Trained.load(path, device)
        return trained.model, list(trained.cfg.mean), list(trained.cfg.std)
    from lesson7.nogan.finetune import load_generator

    model, cfg, _ = load_generator(path, device)
    return model, list(cfg.mean), list(cfg.std)


def generator_loss() -> nn.Module:
    """DeOldify's generator loss, as the colorizer was trained: L1 pixels + L1 on VGG16 features
    before the 3rd, 4th and 5th max-pool, weights 20/70/10 (`lesson7.colorize.train`)."""
    from lesson7.colorize.train import deoldify_loss

    return deoldify_loss()


def save_fp16(model: nn.Module, path: Path, **meta: Any) -> Path:
    """The generator's weights as fp16 safetensors (+ JSON); `load_fp16` reads them back."""
    half = copy.deepcopy(model).cpu().half()
    return save_checkpoint(path, half, dtype="float16", **meta)


def load_fp16(model: nn.Module, path: Path) -> nn.Module:
    sd_model = copy.deepcopy(model).cpu().half()
    load_checkpoint(path, sd_model)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in sd_model.state_dict().items()})
    return model


# -- data ------------------------------------------------------------------------------------
def grey(img: Image.Image) -> Image.Image:
    """DeOldify's colour removal: BT.601 luma in all three channels."""
    return img.convert("LA").convert("RGB")


def split_photos(hr_dirs: list[Path], size: int) -> tuple[list[Path], list, list]:
    """(files, training photos, selection photos): the colorizer's own split of the same
    folders (`lesson7 colorize train`: a seeded 10 %, seed 42), decoded once."""
    from lesson7.colorize.data import load_photos
    from lesson7.data.items import get_image_files
    from lesson7.data.splits import split_by_rand_pct

    files = [f for d in hr_dirs for f in get_image_files(d)]
    train_idx, valid_idx = split_by_rand_pct(len(files), 0.1, seed=42)
    max_short = 2 * size
    return (files, load_photos([files[i] for i in train_idx], max_short),
            load_photos([files[i] for i in valid_idx], max_short))


@torch.no_grad()
def critic_folders(photos: list, colorizer: Colorizer, out: Path, size: int, bs: int
                   ) -> tuple[Path, Path]:
    """NoGAN step 2: the generator's prediction for a centre crop of every training photo
    ("generated", the lesson's image_gen) and the crop itself ("real"), PNGs under the same
    names (the critic's data splits by name)."""
    from lesson7.colorize.data import GreyPairs
    from lesson7.nogan.preds import _save_png

    fake, real = out / "image_gen", out / "real"
    crops = GreyPairs(photos, size, train=False)
    model = colorizer.model.eval()
    todo = [i for i in range(len(crops)) if not (fake / f"{i:05d}.png").is_file()]
    for k in range(0, len(todo), bs):
        idx = todo[k:k + bs]
        g, t = (torch.stack(v) for v in zip(*(crops[i] for i in idx), strict=True))
        pred = colorizer.denorm(model(colorizer.norm(g).to(colorizer.device)).float()).cpu()
        for i, p, y in zip(idx, pred, t, strict=True):
            _save_png(y, real / f"{i:05d}.png")
            _save_png(p, fake / f"{i:05d}.png")  # last: its presence marks the pair done
    return fake, real


# -- the critic race -------------------------------------------------------------------------
@torch.no_grad()
def valid_accuracy(net: nn.Module, dl: Any, device: torch.device) -> float:
    net.eval()
    hits, n = 0.0, 0
    for x, y in dl:
        hits += accuracy_thresh_expand(net(x.to(device)), y.to(device)).item() * len(y)
        n += len(y)
    net.train()
    return hits / n


def race(data: Any, arch: str, seed: int, steps: int, every: int, lr: float,
         device: torch.device, nf: int, until: float = 0.6, seconds: float = float("inf")
         ) -> dict[str, Any]:
    """Train a fresh critic on generated vs real until valid accuracy > `until`, or until
    `steps` or `seconds` run out ("stopped_by" says which)."""
    from lesson7.models.critic import make_critic

    torch.manual_seed(seed)
    net = make_critic(arch, nf=nf, n_blocks=3).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.99))
    loss_fn = AdaptiveLoss(nn.BCEWithLogitsLoss())
    curve, step, t0 = [], 0, time.perf_counter()
    while step < steps:
        for x, y in data.train_dl:
            loss = loss_fn(net(x.to(device)), y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % every == 0:
                acc = valid_accuracy(net, data.valid_dl, device)
                curve.append((step, round(acc, 4)))
                if acc > until:
                    return {"arch": arch, "seed": seed, "lr": lr, "left_chance_at": step,
                            "curve": curve, "s_per_step": (time.perf_counter() - t0) / step,
                            "stopped_by": "accuracy"}
            if step >= steps or time.perf_counter() - t0 > seconds:
                break
        if time.perf_counter() - t0 > seconds:
            break
    return {"arch": arch, "seed": seed, "lr": lr, "left_chance_at": None, "curve": curve,
            "s_per_step": (time.perf_counter() - t0) / max(step, 1), "steps_run": step,
            "stopped_by": "steps" if step >= steps else "time"}


RACE_LR = {"lesson": 1e-3, "encoder": 1e-4}
"""Each critic at its own LR: the lesson's at the NoGAN benchmark's 1e-3; the pretrained
encoder at a fine-tuning LR (at 1e-3 Adam wrecks its ImageNet features; see benchmarks/README)."""


# -- snapshots, selection --------------------------------------------------------------------
class Snapshots(Callback):
    """Every `every` generator steps: score the generator on the selection batch and keep the
    weights of the best (lowest feature distance) and of the latest step on disk."""

    order = 60  # before TimeBudget (70): a generator step that ends the budget is still counted

    def __init__(self, every: int, dest: Path, score_fn: Any, gen_steps_max: int | None = None,
                 gan: bool = True, keep_steps: set[int] | None = None) -> None:
        self.every, self.dest, self.score_fn = every, dest, score_fn
        self.gen_steps, self.gen_steps_max, self.gan = 0, gen_steps_max, gan
        self.critic_steps = 0
        self.scores: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.keep_steps = keep_steps or set()
        self._gen_batch = False

    def _generator(self, learn: Learner) -> nn.Module:
        return learn.model.generator if self.gan else learn.model

    def before_batch(self, learn: Learner) -> None:
        self._gen_batch = learn.training and (not self.gan or learn.model.gen_mode)

    def after_batch(self, learn: Learner) -> None:
        if not self._gen_batch:
            self.critic_steps += learn.training
            return
        self.gen_steps += 1
        if self.gen_steps % self.every == 0:
            self.snapshot(learn)
        if self.gen_steps_max is not None and self.gen_steps >= self.gen_steps_max:
            raise CancelFit

    def snapshot(self, learn: Learner) -> None:
        gen = self._generator(learn)
        row = {"gen_steps": self.gen_steps, **self.score_fn(gen)}
        self.scores.append(row)
        say(f"  step {self.gen_steps}: {json.dumps(row)}")
        if self.best is None or row["distance"] < self.best["distance"]:
            self.best = row
            save_fp16(gen, self.dest / "best", gen_steps=self.gen_steps)
        if self.gen_steps in self.keep_steps:
            save_fp16(gen, self.dest / f"step{self.gen_steps:05d}", gen_steps=self.gen_steps)
        save_fp16(gen, self.dest / "last", gen_steps=self.gen_steps)


def selection_scorer(colorizer: Colorizer, x: Tensor, y: Tensor, features: Any) -> Any:
    """A function generator -> {distance, colorfulness, psnr} on a fixed batch of the training
    photos' validation split (model selection never sees the held-out sets)."""
    from lesson7.gan.fid import fid_from_features
    from lesson7.quality import colorfulness, psnr

    real = colorizer.denorm(y.to(colorizer.device))
    real_feats = features(real)

    @torch.no_grad()
    def score(gen: nn.Module) -> dict[str, float]:
        was = gen.training
        gen.eval()
        outs = torch.cat([colorizer.denorm(gen(xb.to(colorizer.device)).float())
                          for xb in x.split(16)])
        gen.train(was)
        return {"distance": round(fid_from_features(features(outs), real_feats), 4),
                "colorfulness": round(colorfulness(outs.cpu()).mean().item(), 3),
                "psnr": round(psnr(outs.cpu(), real.cpu()).mean().item(), 3)}

    return score


# -- training mode ---------------------------------------------------------------------------
def train_mode(args: argparse.Namespace) -> None:
    from lesson7.colorize.data import color_data
    from lesson7.nogan.critic import critic_learner
    from lesson7.nogan.critic_data import FolderPairs
    from lesson7.quality.feature_distance import lite0_features

    t_start = time.perf_counter()
    budget = args.max_minutes * 60

    def left() -> float:
        return budget - (time.perf_counter() - t_start)

    device = pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"settings": {k: (str(v) if isinstance(v, Path) else v)
                                            for k, v in vars(args).items()},
                               "device": device_name(device), "torch": torch.__version__,
                               "commit": commit(), "complete": False}
    say(f"device {summary['device']}, torch {torch.__version__}, commit {summary['commit']}")
    colorizer = Colorizer(args.generator, device)
    hr_dirs = [Path(h) for h in args.hr]
    for h in hr_dirs:
        if not h.is_dir():
            raise SystemExit(f"--hr {h} is not a folder")
    files, train_photos, select_photos = split_photos(hr_dirs, args.size)
    fake, real = critic_folders(train_photos, colorizer, args.scratch or out / "data", args.size,
                                args.bs)
    summary["n_photos"] = {"train": len(train_photos), "selection": len(select_photos)}
    summary["prep_seconds"] = round(time.perf_counter() - t_start, 1)
    say(f"{len(train_photos)} training / {len(select_photos)} selection photos; predictions "
        f"ready in {summary['prep_seconds']} s")

    def _critic_norm(t: Tensor) -> Tensor:  # critic data in the generator's space
        return colorizer.norm(t)

    crit_data = FolderPairs(fake, real, args.size, args.bs, norm=_critic_norm, crop=args.crop,
                            seed=42)

    # 2. race
    if args.race_steps > 0:
        race_budget, t_race = args.race_fraction * budget, time.perf_counter()
        runs = [(arch, seed) for arch in args.race_archs for seed in args.race_seeds]
        rows = []
        for k, (arch, seed) in enumerate(runs):
            # what earlier runs left unused goes to later ones (a fast critic leaves early)
            per_run = (race_budget - (time.perf_counter() - t_race)) / (len(runs) - k)
            r = race(crit_data, arch, seed, args.race_steps, args.race_every, RACE_LR[arch],
                     device, args.critic_nf, seconds=max(per_run, 0.0))
            say(f"race {arch} seed {seed}: left chance at {r['left_chance_at']} "
                f"({r['curve'][-1] if r['curve'] else '-'}, {r['s_per_step']:.3f} s/step)")
            rows.append(r)
        summary["race"] = {"rows": rows, "median": race_medians(rows, args.race_steps),
                           "until": 0.6, "steps_cap": args.race_steps,
                           "seconds_budget": round(race_budget, 1)}
        atomic_write_json(out / "summary.json", summary)

    # 3. critic pretraining (the one that learns)
    torch.manual_seed(0)
    clearn = critic_learner(crit_data, nf=args.critic_nf, n_blocks=3, arch=args.critic,
                            path=out / "critic", device=device, progress=False)
    clearn.recorder.printer = say
    crit_minutes = args.critic_fraction * budget / 60
    t_crit = time.perf_counter()
    critic_lr = args.critic_lr or RACE_LR[args.critic]
    clearn.fit_one_cycle(args.critic_epochs, critic_lr, cbs=[TimeBudget(crit_minutes)])
    summary["critic"] = {"arch": args.critic, "lr": critic_lr,
                         "history": clearn.recorder.history,
                         "seconds": round(time.perf_counter() - t_crit, 1)}
    critic = clearn.model
    atomic_write_json(out / "summary.json", summary)

    # 4-5. GAN and control per seed
    data = color_data(train_photos, select_photos, args.size, args.bs, 1, args.workers or 0,
                      seed=0)
    xs, ys = [], []
    for xb, yb in data.valid_dl:
        xs.append(xb)
        ys.append(yb)
        if sum(len(b) for b in xs) >= args.select_n:
            break
    xsel, ysel = torch.cat(xs)[:args.select_n], torch.cat(ys)[:args.select_n]
    features = lite0_features(device=device)
    score = selection_scorer(colorizer, xsel, ysel, features)
    summary["selection"] = {"n": len(xsel), "what": "centre crops of the colorizer's own "
                                                    "monitoring split (seeded 10 %, seed 42)",
                            "pretrained": score(colorizer.model)}
    say(f"selection set: {len(xsel)} images; pretrained {summary['selection']['pretrained']}")
    summary["seeds"] = {}
    n_seeds = len(args.seeds)
    for k, seed in enumerate(args.seeds):
        per_seed = max(left(), 0) / (n_seeds - k)  # GAN ~ 60 %, control the rest
        res = run_seed(args, seed, colorizer, critic, data, score, device, out,
                       gan_minutes=0.6 * per_seed / 60, control_minutes=0.4 * per_seed / 60)
        summary["seeds"][str(seed)] = res
        atomic_write_json(out / "summary.json", summary)
    summary["complete"] = True
    summary["total_seconds"] = round(time.perf_counter() - t_start, 1)
    atomic_write_json(out / "summary.json", summary)
    say(f"done in {summary['total_seconds']} s: {out / 'summary.json'}")


def run_seed(args: argparse.Namespace, seed: int, colorizer: Colorizer, critic: nn.Module,
             data: Any, score: Any, device: torch.device, out: Path, gan_minutes: float,
             control_minutes: float) -> dict[str, Any]:
    """One seed: the GAN stage, then the control for the GAN's number of generator steps."""
    dest = out / f"seed{seed}"
    say(f"seed {seed}: GAN for up to {gan_minutes:.2f} min")
    torch.manual_seed(seed)
    gen_learn = Learner(colorizer.fresh(), data, generator_loss(), wd=args.wd, path=dest,
                        device=device, progress=False)
    critic_learn = Learner(copy.deepcopy(critic), data, AdaptiveLoss(nn.BCEWithLogitsLoss()),
                           wd=args.wd, path=dest, device=device, progress=False)
    gan_snaps = Snapshots(args.snapshot_every, dest / "gan", score, args.max_gen_steps, gan=True)
    learn = GANLearner.from_learners(
        gen_learn, critic_learn, weights_gen=tuple(args.weights_gen),
        switcher=AdaptiveGANSwitcher(critic_thresh=args.critic_thresh), mult_lr=args.mult_lr,
        opt_func=partial(adamw, betas=(0.0, 0.9)), lr=args.lr, wd=args.wd, path=dest,
        device=device, cbs=[gan_snaps, TimeBudget(gan_minutes)], progress=False)
    learn.recorder.printer = None
    t0 = time.perf_counter()
    learn.fit(10_000, args.lr)  # stopped by the budget or --max-gen-steps
    gan_seconds = time.perf_counter() - t0
    n_steps = gan_snaps.gen_steps
    if not gan_snaps.scores or gan_snaps.scores[-1]["gen_steps"] != n_steps:
        if n_steps > 0:
            gan_snaps.snapshot(learn)
    chosen = gan_snaps.best["gen_steps"] if gan_snaps.best else 0
    say(f"seed {seed}: GAN {n_steps} generator steps in {gan_seconds:.0f} s, best at {chosen}")

    # the control: the same steps with the pixel + feature loss only
    torch.manual_seed(seed)
    ctrl_snaps = Snapshots(args.snapshot_every, dest / "control", score, n_steps, gan=False,
                           keep_steps={chosen})
    ctrl = Learner(colorizer.fresh(), data, generator_loss(), wd=args.wd, path=dest,
                   device=device, progress=False, opt_func=partial(adamw, betas=(0.0, 0.9)),
                   cbs=[ctrl_snaps, TimeBudget(control_minutes)])
    ctrl.recorder.printer = None
    t0 = time.perf_counter()
    if n_steps > 0:
        ctrl.fit(10_000, args.lr)
    ctrl_seconds = time.perf_counter() - t0
    if ctrl_snaps.gen_steps and (not ctrl_snaps.scores
                                 or ctrl_snaps.scores[-1]["gen_steps"] != ctrl_snaps.gen_steps):
        ctrl_snaps.snapshot(ctrl)
    # the control's weights at the GAN's chosen step (or its last, if it ran out of time first)
    at = dest / "control" / f"step{chosen:05d}.safetensors"
    ctrl_file = at if at.is_file() else dest / "control" / "last.safetensors"
    ctrl_at = chosen if at.is_file() else ctrl_snaps.gen_steps
    say(f"seed {seed}: control {ctrl_snaps.gen_steps} steps in {ctrl_seconds:.0f} s")
    if n_steps == 0:  # the critic never let the generator train within the budget
        say(f"seed {seed}: no generator step in the budget; nothing to compare")
    return {"gan": {"gen_steps": n_steps, "seconds": round(gan_seconds, 1),
                    "critic_batches": gan_snaps.critic_steps,
                    "scores": gan_snaps.scores, "chosen_step": chosen,
                    "weights": str((dest / "gan" / "best.safetensors").relative_to(out))
                    if n_steps else None},
            "control": {"gen_steps": ctrl_snaps.gen_steps, "seconds": round(ctrl_seconds, 1),
                        "scores": ctrl_snaps.scores, "compared_step": ctrl_at,
                        "weights": str(ctrl_file.relative_to(out)) if n_steps else None}}


def race_medians(rows: list[dict[str, Any]], cap: int) -> dict[str, Any]:
    out = {}
    for arch in sorted({r["arch"] for r in rows}):
        steps = [r["left_chance_at"] if r["left_chance_at"] is not None else float("inf")
                 for r in rows if r["arch"] == arch]
        ran = max([r.get("steps_run") or 0 for r in rows if r["arch"] == arch] + [0])
        med = statistics.median(steps)
        out[arch] = {"median": None if med == float("inf") else med,
                     # a run stopped by the clock only shows it had not left chance by then
                     "median_text": f">{min(cap, ran) if ran else cap}" if med == float("inf")
                     else f"{med:g}",
                     "per_seed": [None if s == float("inf") else s for s in steps]}
    return out


# -- evaluation mode -------------------------------------------------------------------------
def held_out_sets(names: list[str]) -> dict[str, list[Path]]:
    from lesson7.data.items import get_image_files
    from lesson7.data.splits import split_by_rand_pct

    sets = {}
    for name in names:
        if name == "bsd100":
            sets[name] = get_image_files(SHARED / "datasets" / "bsds500" / "val")
        elif name == "pets_valid":
            pets = get_image_files(SHARED / "datasets" / "oxford_pets_sample")
            _, valid = split_by_rand_pct(len(pets), 0.1, seed=42)
            sets[name] = [pets[i] for i in sorted(valid)]
        else:
            raise SystemExit(f"unknown --sets {name!r}; choose from bsd100, pets_valid")
        if not sets[name]:
            raise SystemExit(f"no images for {name} under {SHARED / 'datasets'}")
    return sets


def trained_colorizer(path: Path, device: torch.device) -> Any:
    """`lesson7.colorize.colorizer.Colorizer` of the pretrained generator (its config rebuilds
    the GAN and control snapshots too)."""
    from lesson7.colorize.colorizer import Colorizer as Trained

    return Trained.load(path, device)


def eval_mode(args: argparse.Namespace) -> None:
    """Score every generator with `lesson7.colorize.evaluate.evaluate_colorizer` (what
    `lesson7 colorize eval` runs: whole photos, long side <= --max-side, coloured at the render
    size, 8-bit outputs), with colourfulness per image and the Lite0 feature distance per set
    plugged in; then a gallery of the same photos across the columns."""
    from lesson7.colorize.colorizer import Colorizer as Trained
    from lesson7.colorize.evaluate import evaluate_colorizer
    from lesson7.quality import colorfulness
    from lesson7.quality.feature_distance import FEATURE_NETWORK, lite0_features
    from lesson7.quality.lpips_metric import LPIPS

    out = Path(args.out)
    summary = json.loads((out / "summary.json").read_text())
    if not summary.get("complete"):
        say(f"warning: {out / 'summary.json'} says the training run did not complete")
    device = torch.device("cpu")
    gen_path = Path(args.generator or summary["settings"]["generator"])
    base = trained_colorizer(gen_path, device)
    lpips = LPIPS("alex", args.lpips_weights)
    features = lite0_features(device=device)
    seeds = sorted((s for s, v in summary["seeds"].items() if v["gan"]["weights"]), key=int)
    if not seeds:
        raise SystemExit(f"{out / 'summary.json'}: no seed ran a generator step; nothing to score")

    def snapshot(rel: str) -> Any:
        return Trained(load_fp16(copy.deepcopy(base.model), out / rel), base.cfg, device)

    models = {"pretrained": [base]}
    for col in ("gan", "control"):
        models[col] = [snapshot(summary["seeds"][s][col]["weights"]) for s in seeds]

    def distance(preds: list[Tensor], photos: list[Tensor]) -> float:
        from lesson7.gan.fid import fid_from_features

        def feats(ims: list[Tensor]) -> Tensor:  # photos differ in size: one at a time
            return torch.cat([features(im[None]) for im in ims])

        return fid_from_features(feats(preds), feats(photos))

    image_metrics = {"colorfulness": lambda pred, photo: colorfulness(pred).item()}
    set_metrics = {"distance": distance}
    results: dict[str, Any] = {"settings": {"max_side": args.max_side,
                                            "render_size": args.render_size or base.cfg.render_size,
                                            "sets": args.sets, "generator": str(gen_path),
                                            "seeds": seeds, "feature_network": FEATURE_NETWORK,
                                            "lpips": "AlexNet (lpips package)"},
                               "sets": {}}
    gallery_rows = []
    for name, files in held_out_sets(args.sets).items():
        files = files[:args.eval_limit] if args.eval_limit else files
        t0 = time.perf_counter()
        rows: dict[str, Any] = {}
        true_colourfulness = None
        for col, nets in models.items():
            per = []
            for net in nets:
                r = evaluate_colorizer(net, files, None, args.render_size, args.max_side, lpips,
                                       image_metrics, set_metrics)
                per.append(r["model"])
                rows.setdefault("grey input", r["baseline"])
                if true_colourfulness is None:
                    true_colourfulness = statistics.mean(
                        colorfulness(_photo(f, args.max_side)).item() for f in files)
            rows[col] = summarise(per)
        rows = {"grey input": rows.pop("grey input"), **rows,
                "true colours": {"colorfulness": true_colourfulness}}
        results["sets"][name] = {"n": len(files), "rows": rows,
                                 "seconds": round(time.perf_counter() - t0, 1)}
        gallery_rows.append(gallery_images(files[:args.gallery_n], models, args))
        say(f"{name}: {len(files)} images scored in {time.perf_counter() - t0:.0f} s")
    atomic_write_json(out / "eval.json", results)
    md = eval_markdown(results, summary)
    atomic_write_text(out / "eval.md", md)
    save_gallery(gallery_rows, out / "gallery.png")
    say(md)


def _photo(path: Path, max_side: int | None) -> Tensor:
    from lesson7.colorize.evaluate import held_out_photo
    from lesson7.data.images import pil_to_tensor

    return pil_to_tensor(held_out_photo(path, max_side))


def gallery_images(files: list[Path], models: dict[str, list[Any]], args: argparse.Namespace
                   ) -> list[list[Tensor]]:
    """Per photo: [grey, pretrained, after GAN (seed 0), control (seed 0), photo], centre
    squares of `--gallery-size` px."""
    from lesson7.colorize.evaluate import held_out_photo
    from lesson7.data.images import pil_to_tensor
    from lesson7.data.resize import cover_crop

    rows = []
    for f in files:
        photo = held_out_photo(f, args.max_side)
        g = grey(photo)
        with torch.no_grad():
            outs = [models[c][0].colorize(g, args.render_size) for c in ("pretrained", "gan",
                                                                          "control")]
        rows.append([cover_crop(pil_to_tensor(im), args.gallery_size) for im in (g, *outs, photo)])
    return rows


def summarise(per: list[dict[str, float]]) -> dict[str, Any]:
    """One model: its metrics; several seeds: median with min and max per metric."""
    if len(per) == 1:
        return per[0]
    return {k: {"median": statistics.median(r[k] for r in per), "min": min(r[k] for r in per),
                "max": max(r[k] for r in per)} for k in per[0]}


def _cell(v: Any, fmt: str) -> str:
    if v is None:
        return "–"
    if isinstance(v, dict):
        return f"{v['median']:{fmt}} ({v['min']:{fmt}}–{v['max']:{fmt}})"
    return f"{v:{fmt}}"


SHOWN = {"gan": "after GAN (kept snapshot)", "control": "control (same steps, pixel + feature loss)"}


def eval_markdown(results: dict[str, Any], summary: dict[str, Any]) -> str:
    s = results["settings"]
    lines = [f"Held-out colorization (`lesson7.colorize.evaluate`): whole photos, long side <= "
             f"{s['max_side']} px, coloured at render size {s['render_size']}; seeds {s['seeds']} "
             "(GAN and control: median (min–max)); distance = Fréchet distance on "
             f"{s['feature_network']} between the outputs and the true-colour photos of the "
             f"same set; LPIPS {s['lpips']}.", ""]
    for name, res in results["sets"].items():
        lines += [f"**{name}** (n = {res['n']})", "",
                  "| column | PSNR ↑ | SSIM ↑ | LPIPS ↓ | colourfulness | distance ↓ |",
                  "|---|---|---|---|---|---|"]
        for col, m in res["rows"].items():
            cells = [_cell(m.get(k), f) for k, f in (("psnr", ".2f"), ("ssim", ".4f"),
                                                     ("lpips", ".4f"), ("colorfulness", ".1f"),
                                                     ("distance", ".2f"))]
            lines.append(f"| {SHOWN.get(col, col)} | " + " | ".join(cells) + " |")
        lines.append("")
    steps = {s: (v["gan"]["gen_steps"], v["gan"]["chosen_step"], v["control"]["compared_step"])
             for s, v in summary["seeds"].items()}
    lines.append("GAN generator steps / kept snapshot's step / control's step, per seed: "
                 + ", ".join(f"{k}: {a}/{b}/{c}" for k, (a, b, c) in steps.items()))
    return "\n".join(lines) + "\n"


def save_gallery(sets: list[list[list[Tensor]]], path: Path) -> None:
    """One row per photo: grey input | pretrained | after GAN | control | true colours."""
    from PIL import ImageDraw
    from torchvision.utils import make_grid

    from lesson7.files import atomic_path

    cols = ["grey input", "pretrained", "after GAN", "control", "true colours"]
    tiles = [t for rows in sets for row in rows for t in row]
    grid = make_grid(torch.stack(tiles), nrow=len(cols), padding=2, pad_value=1.0)
    arr = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    body = Image.fromarray(arr)
    header = 18
    canvas = Image.new("RGB", (body.width, body.height + header), "white")
    canvas.paste(body, (0, header))
    draw = ImageDraw.Draw(canvas)
    w = body.width / len(cols)
    for i, c in enumerate(cols):
        draw.text((i * w + 4, 3), c, fill="black")
    with atomic_path(path) as tmp:
        canvas.save(tmp, "PNG")


# -- helpers ---------------------------------------------------------------------------------
def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout.strip()


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", type=Path, help="pretrained colorizer (run folder or file)")
    ap.add_argument("--hr", nargs="+", default=[], help="training photo folders")
    ap.add_argument("--out", type=Path, default=Path("runs/colorize_nogan"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scratch", type=Path, default=None,
                    help="folder for the critic's PNGs (default OUT/data; keep it out of OUT on a GPU "
                         "machine whose OUT is copied back)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--max-minutes", type=float, default=3.0, help="wall-clock budget, all stages")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--bs", type=int, default=16)
    ap.add_argument("--crop", type=int, default=None, help="critic training crops")
    ap.add_argument("--critic", default="encoder", choices=["encoder", "lesson"],
                    help="the critic pretrained and used in the GAN (the one that learns)")
    ap.add_argument("--critic-nf", type=int, default=128, help="lesson critic width")
    ap.add_argument("--critic-epochs", type=int, default=4)
    ap.add_argument("--critic-lr", type=float, default=None,
                    help="critic pretraining LR (default: 1e-4 for encoder, 1e-3 for lesson)")
    ap.add_argument("--critic-fraction", type=float, default=0.2,
                    help="share of --max-minutes for critic pretraining")
    ap.add_argument("--race-steps", type=int, default=0, help="critic race: step cap (0: no race)")
    ap.add_argument("--race-every", type=int, default=25)
    ap.add_argument("--race-seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--race-archs", nargs="+", default=["encoder", "lesson"])
    ap.add_argument("--race-fraction", type=float, default=0.25)
    ap.add_argument("--lr", type=float, default=1e-5, help="GAN LR (DeOldify's 1e-5)")
    ap.add_argument("--weights-gen", type=_floats, default=[1.0, 1.5], metavar="ADV,PIXEL")
    ap.add_argument("--mult-lr", type=float, default=5.0)
    ap.add_argument("--critic-thresh", type=float, default=0.65)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--snapshot-every", type=int, default=50, help="generator steps")
    ap.add_argument("--max-gen-steps", type=int, default=None)
    ap.add_argument("--select-n", type=int, default=48, help="selection images")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--eval-only", action="store_true")
    ap.add_argument("--sets", nargs="+", default=["bsd100", "pets_valid"])
    ap.add_argument("--max-side", type=int, default=512,
                    help="held-out photos: long side reduced to this (as `lesson7 colorize eval`)")
    ap.add_argument("--render-size", type=int, default=None,
                    help="colour at this short side (default: the colorizer's own)")
    ap.add_argument("--gallery-n", type=int, default=4, help="photos per set in the gallery")
    ap.add_argument("--gallery-size", type=int, default=192)
    ap.add_argument("--eval-limit", type=int, default=None,
                    help="score only the first N images of each set (smoke tests)")
    ap.add_argument("--lpips-weights", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.eval_only:
        eval_mode(args)
        return
    if args.generator is None or not args.hr:
        ap.error("training needs --generator and --hr (or --eval-only)")
    if len(args.weights_gen) != 2:
        ap.error(f"--weights-gen needs two numbers, got {args.weights_gen}")
    train_mode(args)


if __name__ == "__main__":
    sys.exit(main())
