"""`train_restorer(cfg)`: the lesson's U-Net restoration training, from image folders to a run.

The lesson's recipe by default (`lesson7-superres.ipynb`, `lesson7-superres-gan.ipynb`):
`unet_learner(resnet34, wd=1e-3, blur, weight norm, self-attention, y_range=(-3, 3))`, a random
10% validation split (seed 42), ImageNet statistics on x and y, `get_transforms(max_zoom=2)`
with tfm_y; one-cycle frozen (`slice(3·lr)`, pct_start 0.8) then unfrozen (`slice(lr/1000, lr)`),
per size of the progressive-resizing list. A from-scratch encoder gets the full lr in every layer
group: discriminative LRs protect pretrained features, and random ones have none to protect.
`identity_init` (not in the lesson) drops y_range and starts the U-Net as the identity on its
input (`DynamicUnet.init_identity_`), so short CPU runs start from the input's quality. The
bicubic track trains on native-resolution crops with flips only (zoom would change the
degradation). Resumable through `lesson7.runs.RunFolder`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from lesson7.configs.restore import RestoreTrainConfig
from lesson7.data.degradations import degradation, make_degrader
from lesson7.files import atomic_path
from lesson7.restore.restorer import Restorer, UnetConfig, tensor_to_pil
from lesson7.runs import RunFolder, config_dict
from lesson7.train.callbacks import Callback, SaveEveryEpoch
from lesson7.train.seed import seed_everything

__all__ = ["train_restorer", "make_pairs", "build_data", "save_results", "RUN_SETTINGS"]

# Fields that define a training run: a saved state resumes only under the same ones.
RUN_SETTINGS = ("hr", "lowres", "crappify", "degrade", "arch", "pretrained", "encoder_weights",
                "loss", "feature_weights", "size", "bs", "epochs", "unfreeze_epochs", "lr", "wd",
                "valid_pct", "norm", "self_attention", "blur", "identity_init", "seed")


def make_pairs(cfg: RestoreTrainConfig) -> list[tuple[Path, Path]]:
    """(lr, hr) pairs: given --lowres, or made from --hr into OUT/lowres (kept for reruns)."""
    from lesson7.data.crappify import crappify_folder
    from lesson7.data.pairs import find_pairs

    if cfg.lowres is not None:
        return find_pairs(cfg.lowres, cfg.hr[0])
    name = cfg.degradation
    suffix = ".png" if degradation(name).kind == "bicubic" else None  # bicubic: lossless
    crappifier = make_degrader(name)
    pairs = []
    for i, hr in enumerate(cfg.hr):
        lr_dir = RunFolder(cfg.out) / "lowres" / f"{i}_{hr.resolve().name}"
        report = crappify_folder(hr, lr_dir, crappifier, workers=cfg.workers, seed=cfg.seed,
                                 suffix=suffix, progress=sys.stderr.isatty())
        print(f"inputs for {hr}: {report.summary()}")
        pairs += find_pairs(lr_dir, hr)
    return pairs


def build_data(pairs: list[tuple[Path, Path]], size: int, bs: int, bicubic: bool,
               valid_pct: float = 0.1, workers: int | None = None):
    """The lesson's DataBunch for image pairs: random split (seed 42), tfm_y, ImageNet stats."""
    from lesson7.data.blocks import ImageList
    from lesson7.data.loaders import imagenet_stats
    from lesson7.data.transforms import get_transforms

    lr_to_hr = {lr: hr for lr, hr in pairs}
    root = Path(os.path.commonpath([str(lr.parent) for lr, _ in pairs]))
    items = ImageList([lr for lr, _ in pairs], root, "RGB")
    if bicubic:  # native-resolution crops; flips only (zoom/warp would alter the degradation)
        tfms = get_transforms(max_rotate=0, max_zoom=1.0, max_lighting=0, max_warp=0)
    else:
        tfms = get_transforms(max_zoom=2.0)
    return (items.split_by_rand_pct(valid_pct, seed=42)
            .label_from_func(lr_to_hr.__getitem__)
            .transform(tfms, size=size, tfm_y=True, resize_method="none" if bicubic else "crop")
            .databunch(bs=bs, decode_workers=workers)
            .normalize(imagenet_stats, do_y=True))


def _loss_and_metrics(cfg: RestoreTrainConfig):
    from lesson7.losses import FeatureLoss, L1LossFlat, MSELossFlat, component_metrics

    if cfg.loss == "feature":
        loss = FeatureLoss.from_pretrained("vgg16_bn", weights_path=cfg.feature_weights)
        return loss, component_metrics(loss)
    return (MSELossFlat() if cfg.loss == "mse" else L1LossFlat()), []


def _phases(cfg: RestoreTrainConfig) -> list[tuple[int, bool, int]]:
    """(size, frozen, epochs) in order: per size, a frozen then an unfrozen one-cycle."""
    phases = []
    for size in cfg.size:
        if cfg.epochs:
            phases.append((size, True, cfg.epochs))
        if cfg.unfreeze_epochs:
            phases.append((size, False, cfg.unfreeze_epochs))
    return phases


def unet_config(cfg: RestoreTrainConfig) -> UnetConfig:
    """What rebuilds the U-Net that `cfg` trains (saved with the model)."""
    d = degradation(cfg.degrade) if cfg.degrade else None
    return UnetConfig(arch=cfg.arch, n_out=3, in_channels=3, img_size=(cfg.size[0], cfg.size[0]),
                      blur=cfg.blur, self_attention=cfg.self_attention,
                      y_range=None if cfg.identity_init else (-3.0, 3.0), norm_type=cfg.norm,
                      scale=float(d.scale) if d else 1.0)


def train_restorer(cfg: RestoreTrainConfig, cbs: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train (or resume: call again with the same config) a restoration U-Net into cfg.out.

    Writes model.safetensors + model.json (with the UnetConfig the model was built from),
    config.json, metrics.json and results.png; returns the metrics. `cbs` are extra callbacks
    for every fit (e.g. to record the learning rates).
    """
    from lesson7.models.unet import unet_learner
    from lesson7.train.learner import pick_device

    device = pick_device(cfg.device)  # an unusable --device fails before any data is made
    run = RunFolder(cfg.out)
    seed_everything(cfg.seed)
    run.path.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in config_dict(cfg).items() if k in RUN_SETTINGS}
    resume = run.resume_point(settings)
    pairs = make_pairs(cfg)
    bicubic = cfg.degrade is not None
    loss_fn, metrics = _loss_and_metrics(cfg)
    start_phase, start_epoch = (resume["phase"], resume["epoch"]) if resume else (0, 0)
    t0 = time.perf_counter()
    ucfg = unet_config(cfg)
    learn, data_size = None, None

    def make_learner(data: Any) -> Any:
        learn = unet_learner(data, cfg.arch, pretrained=cfg.pretrained,
                             weights_path=cfg.encoder_weights, blur=cfg.blur,
                             self_attention=cfg.self_attention, y_range=ucfg.y_range,
                             norm_type=cfg.norm, loss_fn=loss_fn, metrics=metrics, wd=cfg.wd,
                             path=run.path, device=device)
        if cfg.identity_init:
            learn.model.init_identity_()
        if resume:
            learn.load(run.state, with_opt=True)
            learn.recorder.history = list(resume.get("history", []))
        return learn

    for i, (size, frozen, n_epochs) in enumerate(_phases(cfg)):
        first = start_epoch if i == start_phase else 0
        if i < start_phase or first >= n_epochs:
            continue
        bs = max(1, round(cfg.bs * (cfg.size[0] / size) ** 2))
        if size != data_size:
            data = build_data(pairs, size, bs, bicubic, cfg.valid_pct, cfg.workers)
            print(f"size {size}, bs {bs}: {len(data.train_dl)} train / {len(data.valid_dl)} "
                  "valid batches")
            data_size = size
            if learn is not None:  # progressive resizing: same model, bigger images
                learn.data = data.to(learn.device)
        if learn is None:
            learn = make_learner(data)
            if resume:
                print(f"resuming {run.path}: phase {i + 1}, epoch {first + 1} of {n_epochs}")
        if frozen and not cfg.scratch:
            learn.freeze()
            lrs = slice(cfg.lr * 3)
        else:
            learn.unfreeze()
            lrs = cfg.lr if cfg.scratch else slice(cfg.lr / 1000, cfg.lr)
        saver = SaveEveryEpoch(run.state, phase=i, run=settings)  # the resume point
        learn.fit_one_cycle(n_epochs, lrs, pct_start=0.8 if frozen else 0.3, cbs=[saver, *cbs],
                            start_epoch=first)
    if learn is None:  # every epoch was done before an interruption: finish from the saved state
        bs = max(1, round(cfg.bs * (cfg.size[0] / cfg.size[-1]) ** 2))
        learn = make_learner(build_data(pairs, cfg.size[-1], bs, bicubic, cfg.valid_pct,
                                        cfg.workers))
    Restorer(learn.model, ucfg).save(run / "model", run_config=config_dict(cfg),
                                     degrade=cfg.degradation, train_size=cfg.size[-1])
    run.write_config(cfg, unet=asdict(ucfg))
    history = learn.recorder.history
    metrics_out = {"task": "restore", "history": history, "final": history[-1] if history else {},
                   "n_pairs": len(pairs), "train_seconds": time.perf_counter() - t0}
    run.write_metrics(metrics_out)
    save_results(learn, run / "results.png")
    run.clear_state()  # finished: the resume point is not needed
    print(f"saved {run / 'model.safetensors'}")
    return metrics_out


@torch.no_grad()
def save_results(learn: Any, path: Path, rows: int = 4) -> Path:
    """A PNG with one (input | prediction | target) row per validation image."""
    from PIL import Image

    xb, yb = next(iter(learn.data.valid_dl))
    learn.model.eval()
    pred = learn.model(xb[:rows].to(learn.device)).float().cpu()
    denorm = learn.data.denorm
    tiles = [[tensor_to_pil(denorm(t[i:i + 1].cpu())[0]) for t in (xb, pred, yb)]
             for i in range(min(rows, len(xb)))]
    w, h = tiles[0][0].size
    sheet = Image.new("RGB", (3 * w, len(tiles) * h), "white")
    for r, row in enumerate(tiles):
        for c, im in enumerate(row):
            sheet.paste(im.convert("RGB"), (c * w, r * h))
    with atomic_path(path) as tmp:
        sheet.save(tmp, "PNG")
    return path
