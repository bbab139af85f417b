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

Refused before any image is made: too few pairs for one validation image and one full training
batch (`min_pairs`), and encoder weights that do not load. Refused before training: inputs that
failed to degrade (listed in OUT/lowres/crappify_failed.txt), and a finished model of other
settings in --out (unless --overwrite). Training stops with a FloatingPointError on a NaN/inf
loss or weights (`TerminateOnNaN`), before that epoch can replace the resume point.
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
from lesson7.files import atomic_path, atomic_write_text
from lesson7.models.encoders import create_encoder
from lesson7.models.layers import NormType
from lesson7.models.unet import DynamicUnet, Size, unet_splitter
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet, tensor_to_pil
from lesson7.runs import RunFolder, config_dict
from lesson7.train.callbacks import Callback
from lesson7.train.learner import Learner
from lesson7.train.progressive import batch_size_at, fit_phase, progressive_phases
from lesson7.train.seed import seed_everything

__all__ = ["train_restorer", "unet_learner", "make_pairs", "build_data", "save_results", "min_pairs",
           "RUN_SETTINGS"]

# Fields that define a training run: a saved state resumes only under the same ones.
RUN_SETTINGS = ("hr", "lowres", "crappify", "degrade", "arch", "pretrained", "encoder_weights",
                "loss", "feature_weights", "size", "bs", "epochs", "unfreeze_epochs", "lr", "wd",
                "valid_pct", "norm", "self_attention", "blur", "identity_init", "seed")


def min_pairs(valid_pct: float, bs: int) -> int:
    """The fewest pairs that leave one validation image (the split holds out
    `int(valid_pct * n)`) and one full training batch of `bs`."""
    n = bs + 1
    while int(valid_pct * n) < 1 or n - int(valid_pct * n) < bs:
        n += 1
    return n


def check_pair_count(cfg: RestoreTrainConfig, found: int, where: str) -> None:
    """A ValueError naming the minimum (`min_pairs`) when `found` pairs are too few."""
    need = min_pairs(cfg.valid_pct, cfg.bs)
    if found < need:
        raise ValueError(f"too few images: {found} in {where}; --valid-pct {cfg.valid_pct} and "
                         f"--bs {cfg.bs} need at least {need} (one validation image and one full "
                         "training batch): add images or lower --bs")


def make_pairs(cfg: RestoreTrainConfig) -> list[tuple[Path, Path]]:
    """(lr, hr) pairs: given --lowres, or made from --hr into OUT/lowres (kept for reruns).

    An HR image that fails to degrade is named in OUT/lowres/crappify_failed.txt and makes this
    a ValueError: training never starts on an incomplete input set.
    """
    from lesson7.data.crappify import crappify_folder
    from lesson7.data.pairs import find_pairs

    if cfg.lowres is not None:
        return find_pairs(cfg.lowres, cfg.hr[0])
    name = cfg.degradation
    suffix = ".png" if degradation(name).lossless else None  # bicubic, grey: no JPEG damage
    crappifier = make_degrader(name)
    pairs, failed = [], []
    lowres = RunFolder(cfg.out) / "lowres"
    for i, hr in enumerate(cfg.hr):
        lr_dir = lowres / f"{i}_{hr.resolve().name}"
        report = crappify_folder(hr, lr_dir, crappifier, workers=cfg.workers, seed=cfg.seed,
                                 suffix=suffix, progress=sys.stderr.isatty())
        print(f"inputs for {hr}: {report.summary()}")
        failed += [f"{hr / rel}: {why}" for rel, why in report.failed]
        pairs += find_pairs(lr_dir, hr)
    listing = lowres / "crappify_failed.txt"
    if failed:
        atomic_write_text(listing, "\n".join(failed) + "\n")
        raise ValueError(f"{len(failed)} of {len(pairs) + len(failed)} --hr images could not be "
                         f"degraded (listed in {listing}); fix or remove them, then rerun")
    listing.unlink(missing_ok=True)
    return pairs


def count_inputs(cfg: RestoreTrainConfig) -> tuple[int, str]:
    """How many pairs `make_pairs` will give (before making any), and where they come from."""
    from lesson7.data.items import get_image_files
    from lesson7.data.pairs import find_pairs

    if cfg.lowres is not None:
        return len(find_pairs(cfg.lowres, cfg.hr[0])), f"--lowres {cfg.lowres}"
    return (sum(len(get_image_files(hr)) for hr in cfg.hr),
            "--hr " + " ".join(str(hr) for hr in cfg.hr))


def check_encoder(cfg: RestoreTrainConfig) -> None:
    """Load the encoder's weights once before any data is made: a missing download or an
    --encoder-weights file that is not a state dict of --arch fails now, not after crappify."""
    from lesson7.models.encoders import load_tv_model

    if not cfg.pretrained and cfg.encoder_weights is None:
        return
    if cfg.encoder_weights is None:
        load_tv_model(cfg.arch, pretrained=True)
        return
    try:
        load_tv_model(cfg.arch, pretrained=cfg.pretrained, weights_path=cfg.encoder_weights)
    except (ValueError, OSError) as e:
        raise ValueError(f"--encoder-weights: {e}") from None
    except Exception as e:  # noqa: BLE001 - unpickling errors and such: name the file, one line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"--encoder-weights {cfg.encoder_weights} is not a loadable state dict "
                         f"({first})") from None


def build_data(pairs: list[tuple[Path, Path]], size: int, bs: int, bicubic: bool,
               valid_pct: float = 0.1, workers: int | None = None, num_workers: int = 0,
               seed: int = 0):
    """The lesson's DataBunch for image pairs: random split (seed 42), tfm_y, ImageNet stats.

    `workers` decode an in-memory set once; `num_workers` are DataLoader processes for a
    streamed one (images of different shapes); `seed` sets the batch order and augmentation."""
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
            .databunch(bs=bs, decode_workers=workers, num_workers=num_workers, seed=seed)
            .normalize(imagenet_stats, do_y=True))


def _loss_and_metrics(cfg: RestoreTrainConfig):
    from lesson7.losses import FeatureLoss, L1LossFlat, MSELossFlat, component_metrics

    if cfg.loss == "feature":
        loss = FeatureLoss.from_pretrained("vgg16_bn", weights_path=cfg.feature_weights)
        return loss, component_metrics(loss)
    return (MSELossFlat() if cfg.loss == "mse" else L1LossFlat()), []


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
    from lesson7.train.learner import pick_device

    device = pick_device(cfg.device)  # an unusable --device fails before any data is made
    run = RunFolder(cfg.out)
    settings = {k: v for k, v in config_dict(cfg).items() if k in RUN_SETTINGS}
    resume, done = run.resume_or_finished(settings, overwrite=cfg.overwrite, config_cls=type(cfg))
    if done is not None:
        return done
    check_pair_count(cfg, *count_inputs(cfg))
    check_encoder(cfg)
    seed_everything(cfg.seed)
    run.path.mkdir(parents=True, exist_ok=True)
    loss_fn, metrics = _loss_and_metrics(cfg)  # feature-loss weights: checked before crappify
    if isinstance(loss_fn, torch.nn.Module):  # the feature loss's VGG runs where the model does
        loss_fn.to(device)
    pairs = make_pairs(cfg)
    check_pair_count(cfg, len(pairs), "the pairs made")
    bicubic = cfg.degrade is not None
    start_phase, start_epoch = (resume["phase"], resume["epoch"]) if resume else (0, 0)
    t0 = time.perf_counter()
    ucfg = unet_config(cfg)
    learn, data_size = None, None

    def make_learner(data: Any) -> Any:
        # The model is built from the UnetConfig that is saved with it: the two cannot disagree.
        model = build_unet(ucfg, pretrained=cfg.pretrained, weights_path=cfg.encoder_weights)
        learn = Learner(model, data, loss_fn, metrics=metrics, wd=cfg.wd, splitter=unet_splitter,
                        path=run.path, device=device)
        if cfg.identity_init:
            learn.model.init_identity_()
        if resume:
            learn.load(run.state, with_opt=True)
            learn.recorder.history = list(resume.get("history", []))
        return learn

    for i, (size, frozen, n_epochs) in enumerate(progressive_phases(cfg.size, cfg.epochs,
                                                                    cfg.unfreeze_epochs)):
        first = start_epoch if i == start_phase else 0
        if i < start_phase or first >= n_epochs:
            continue
        bs = batch_size_at(cfg.bs, cfg.size[0], size)
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
        fit_phase(learn, run, settings, i, n_epochs, frozen, not cfg.scratch, cfg.lr, first, cbs)
    if learn is None:  # every epoch was done before an interruption: finish from the saved state
        bs = batch_size_at(cfg.bs, cfg.size[0], cfg.size[-1])
        learn = make_learner(build_data(pairs, cfg.size[-1], bs, bicubic, cfg.valid_pct,
                                        cfg.workers))
    Restorer(learn.model, ucfg).save(run / "model", run_config=config_dict(cfg), run=settings,
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


def unet_learner(data, arch: str = "resnet34", pretrained: bool = True,
                 weights_path: str | os.PathLike | None = None, n_out: int | None = None,
                 img_size: Size | None = None, blur: bool = False, blur_final: bool = True,
                 self_attention: bool = False, y_range: tuple[float, float] | None = None,
                 last_cross: bool = True, bottle: bool = False, norm_type: NormType = "batch",
                 loss_fn=None, metrics=(), wd: float = 1e-2, **learner_kwargs):
    """A Learner for a DynamicUnet on `arch`, frozen except the decoder (BatchNorm stays trainable).

    `n_out` defaults to `data.c` (3 for images), `img_size` to the size of one batch.
    The number of input channels is read from one batch too (1-channel data adapts the stem).
    """
    xb, _ = data.one_batch()
    img_size = tuple(img_size or xb.shape[-2:])
    n_out = n_out if n_out is not None else getattr(data, "c", None) or xb.shape[1]
    encoder = create_encoder(arch, pretrained=pretrained, weights_path=weights_path,
                             in_channels=xb.shape[1])
    model = DynamicUnet(encoder, n_out, img_size, blur=blur, blur_final=blur_final,
                        self_attention=self_attention, y_range=y_range, last_cross=last_cross,
                        bottle=bottle, norm_type=norm_type)
    if loss_fn is None:
        from lesson7.losses.pixel import MSELossFlat

        loss_fn = MSELossFlat()
    learn = Learner(model, data, loss_fn, metrics=metrics, wd=wd, splitter=unet_splitter,
                    **learner_kwargs)
    if pretrained or weights_path is not None:
        learn.freeze()  # train the new decoder first; the pretrained encoder joins at unfreeze()
    return learn
