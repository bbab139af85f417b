"""`train_colorizer(cfg)`: DeOldify's generator pretraining, from folders of colour photos to a run.

The recipe (jantic/DeOldify `ColorizeTrainingStableLargeBatch.ipynb`, `deoldify/loss.py`):
a U-Net with self-attention and spectral norm on a pretrained encoder; inputs are the photos
made grey; loss L1 on pixels + L1 on VGG features before the 3rd, 4th and 5th max-pool with
weights [20, 70, 10] and no Gram terms; progressive sizes; per size the encoder frozen, then
unfrozen. Ours: the encoder is EfficientNet-Lite0 cut at 1/16 (`ColorizerConfig`), the loss
trunk is plain VGG16 (DeOldify's is VGG16-BN) and the model predicts chroma only
(`lesson7.models.colorizer`). Training crops are made on the fly (`lesson7.colorize.data`).

Resumable through `lesson7.runs.RunFolder` (kill it, run the same command again). With
`max_minutes`, each phase (size x frozen/unfrozen) stops at its share of what is left of the
budget, in proportion to its planned work; the model is saved either way, and metrics.json says
how many epochs each phase ran.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lesson7.colorize.colorizer import Colorizer, ColorizerConfig, build_colorizer
from lesson7.configs.colorize import ColorizeTrainConfig
from lesson7.runs import RunFolder, config_dict
from lesson7.train.callbacks import Callback, TimeBudget
from lesson7.train.learner import Learner
from lesson7.train.progressive import batch_size_at, fit_phase, progressive_phases
from lesson7.train.seed import seed_everything

__all__ = ["train_colorizer", "deoldify_loss", "colorizer_config", "split_photos", "RUN_SETTINGS",
           "DEOLDIFY_LAYERS", "DEOLDIFY_WEIGHTS"]

DEOLDIFY_LAYERS = ("relu3_3", "relu4_3", "relu5_3")
"""The ReLUs right before VGG16's 3rd, 4th and 5th max-pool (DeOldify's `blocks[2:5]`)."""
DEOLDIFY_WEIGHTS = (20.0, 70.0, 10.0)

RUN_SETTINGS = ("hr", "size", "bs", "epochs", "unfreeze_epochs", "samples_per_image", "lr", "wd",
                "valid_pct", "encoder_depth", "pretrained", "norm", "self_attention",
                "feature_weights", "max_minutes", "seed")


def deoldify_loss(weights_path: str | Path | None = None):
    """DeOldify's generator loss on a plain ImageNet VGG16 trunk: L1 pixels + L1 features
    [20, 70, 10] at relu3_3 / relu4_3 / relu5_3, no Gram terms."""
    from lesson7.losses.perceptual import VGG16_TRUNK_FILE, FeatureLoss, load_vgg_features
    from lesson7.weights import find_weights, where_to_put

    path = weights_path or find_weights(VGG16_TRUNK_FILE)
    if path is None:
        raise FileNotFoundError(f"the colorization loss needs a plain VGG16 trunk: pass "
                                f"--feature-weights PATH, or {where_to_put(VGG16_TRUNK_FILE)}")
    features, _ = load_vgg_features("vgg16", weights_path=path)
    return FeatureLoss(features, DEOLDIFY_LAYERS, DEOLDIFY_WEIGHTS, gram_weight=0.0)


def colorizer_config(cfg: ColorizeTrainConfig) -> ColorizerConfig:
    """What rebuilds the colorizer that `cfg` trains (saved with the model)."""
    return ColorizerConfig(encoder_depth=cfg.encoder_depth, img_size=(cfg.size[0], cfg.size[0]),
                           self_attention=cfg.self_attention, norm_type=cfg.norm,
                           render_size=cfg.render_size)


def split_photos(cfg: ColorizeTrainConfig) -> tuple[list[Path], list[Path]]:
    """(training, monitoring) photo files: a random `valid_pct` held out (seed 42)."""
    from lesson7.data.items import get_image_files
    from lesson7.data.splits import split_by_rand_pct

    files = [f for d in cfg.hr for f in get_image_files(d)]
    train_idx, valid_idx = split_by_rand_pct(len(files), cfg.valid_pct, seed=42)
    if not valid_idx or len(train_idx) < 1:
        raise ValueError(f"too few photos: {len(files)} in --hr {' '.join(map(str, cfg.hr))}; "
                         f"--valid-pct {cfg.valid_pct} holds out none of them: add photos")
    return [files[i] for i in train_idx], [files[i] for i in valid_idx]


def _phases(cfg: ColorizeTrainConfig) -> list[tuple[int, bool, int]]:
    """(size, frozen, epochs) in order: per size, a frozen then an unfrozen one-cycle."""
    return progressive_phases(cfg.size, cfg.epochs, cfg.unfreeze_epochs)


def _work(size: int, frozen: bool, epochs: int) -> float:
    """Planned work of a phase, for sharing a time budget: pixels x epochs, x2 unfrozen (the
    backward pass then runs through the encoder too)."""
    return size * size * epochs * (1.0 if frozen else 2.0)


def train_colorizer(cfg: ColorizeTrainConfig, cbs: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train (or resume: call again with the same config) a colorizer into cfg.out.

    Writes model.safetensors + model.json (the ColorizerConfig and the run's settings),
    config.json, metrics.json and results.png (grey input | colorized | photo); returns the metrics.
    """
    from lesson7.colorize.data import color_data, load_photos
    from lesson7.losses.perceptual import component_metrics
    from lesson7.models.colorizer import chroma_unet_splitter
    from lesson7.restore.train import save_results
    from lesson7.train.learner import pick_device

    device = pick_device(cfg.device)
    run = RunFolder(cfg.out)
    settings = {k: v for k, v in config_dict(cfg).items() if k in RUN_SETTINGS}
    resume, done = run.resume_or_finished(settings, overwrite=cfg.overwrite, config_cls=type(cfg))
    if done is not None:
        return done
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    loss_fn = deoldify_loss(cfg.feature_weights)  # a missing VGG16 trunk fails before any work
    train_files, valid_files = split_photos(cfg)
    max_short = 2 * max(cfg.size)  # crops cover at least half the short side (data.MAX_ZOOM)
    train_photos, valid_photos = load_photos(train_files, max_short), load_photos(valid_files,
                                                                                  max_short)
    print(f"{len(train_photos)} training / {len(valid_photos)} monitoring photos", flush=True)
    run.path.mkdir(parents=True, exist_ok=True)
    ccfg = colorizer_config(cfg)
    phases = _phases(cfg)
    start_phase, start_epoch = (resume["phase"], resume["epoch"]) if resume else (0, 0)
    # Epochs each phase ran (a time budget can cut one short); phases finished before a resume
    # are counted as planned.
    ran = [n if i < start_phase else start_epoch if i == start_phase else 0
           for i, (_, _, n) in enumerate(phases)]
    learn, data_size = None, None

    def make_learner(data: Any) -> Learner:
        model = build_colorizer(ccfg, pretrained=cfg.pretrained)
        learn = Learner(model, data, loss_fn, metrics=component_metrics(loss_fn)[:4], wd=cfg.wd,
                        splitter=chroma_unet_splitter, path=run.path, device=device)
        if resume:
            learn.load(run.state, with_opt=True)
            learn.recorder.history = list(resume.get("history", []))
        return learn

    def data_at(size: int):
        bs = batch_size_at(cfg.bs, cfg.size[0], size)
        data = color_data(train_photos, valid_photos, size, bs, cfg.samples_per_image,
                          cfg.workers, cfg.seed)
        print(f"size {size}, bs {bs}: {len(data.train_dl)} train / {len(data.valid_dl)} valid "
              "batches", flush=True)
        return data

    for i, (size, frozen, n_epochs) in enumerate(phases):
        first = start_epoch if i == start_phase else 0
        if i < start_phase or first >= n_epochs:
            continue
        extra: list[Callback] = []
        if cfg.max_minutes is not None:
            left = cfg.max_minutes - (time.perf_counter() - t0) / 60
            if left <= 0:
                print(f"time budget ({cfg.max_minutes:.2f} min) spent: phase {i + 1} of "
                      f"{len(phases)} skipped", flush=True)
                continue
            todo = [_work(*p) for p in phases[i:]]
            extra.append(TimeBudget(left * todo[0] / sum(todo)))
        if size != data_size:
            data = data_at(size)
            data_size = size
            if learn is not None:  # progressive resizing: same model, bigger crops
                learn.data = data
        if learn is None:
            learn = make_learner(data)
            if resume:
                print(f"resuming {run.path}: phase {i + 1}, epoch {first + 1} of {n_epochs}")
        epochs_before = len(learn.recorder.history)
        fit_phase(learn, run, settings, i, n_epochs, frozen, cfg.pretrained, cfg.lr, first,
                  [*extra, *cbs])
        ran[i] = first + len(learn.recorder.history) - epochs_before
    if learn is None:  # every epoch was done before an interruption: finish from the saved state
        learn = make_learner(data_at(cfg.size[-1]))
    wall = time.perf_counter() - t0
    Colorizer(learn.model, ccfg, device=learn.device).save(
        run / "model", run_config=config_dict(cfg), run=settings, degrade="grey",
        train_size=cfg.size[-1], n_train_photos=len(train_photos))
    run.write_config(cfg, colorizer=asdict(ccfg))
    history = learn.recorder.history
    metrics_out = {"task": "colorize", "history": history, "final": history[-1] if history else {},
                   "phases": [{"size": s, "frozen": f, "epochs_planned": n, "epochs_run": r}
                              for (s, f, n), r in zip(phases, ran, strict=True)],
                   "n_train_photos": len(train_photos), "n_valid_photos": len(valid_photos),
                   "train_seconds": wall}
    run.write_metrics(metrics_out)
    save_results(learn, run / "results.png")
    run.clear_state()
    print(f"saved {run / 'model.safetensors'} ({wall:.0f} s)", flush=True)
    return metrics_out
