"""`lesson7 restore train | predict | eval`: the lesson's U-Net image restoration, end to end.

train: pairs come from `--lowres DIR --hr DIR`, or are made from `--hr DIR` with `--crappify
MODE` or `--degrade bicubic-xN` (written under OUT/lowres). The lesson's recipe by default
(REFERENCE §2.3-2.4): `unet_learner(resnet34, wd=1e-3, blur, weight norm, self-attention,
y_range=(-3, 3))`, random 10% validation split (seed 42), ImageNet statistics on x and y,
`get_transforms(max_zoom=2)` with tfm_y; one-cycle frozen (`slice(3·lr)`, pct_start 0.8)
then unfrozen (`slice(lr/1000, lr)`): with the default lr 1e-3 these are the notebook's
`slice(3e-3)` and `slice(1e-6, 1e-3)`; progressive resizing over `--size 128,256`.
A from-scratch encoder (`--no-pretrained`, no `--encoder-weights`) gets the full lr in every
layer group: discriminative LRs protect pretrained features, and random ones have none to protect.
`--identity-init` (not in the lesson) drops y_range and starts the U-Net as the identity on its
input (see `DynamicUnet.init_identity_`), so short CPU runs start from the input's quality. The bicubic
track trains on native-resolution crops with flips only (zoom would change the degradation).
Writes OUT/model.safetensors + model.json, OUT/config.json, OUT/metrics.json and
OUT/results.png (input | prediction | target rows).
Resumable: after every epoch the weights, optimizer state, phase and history go to OUT/state/;
re-running the same command continues mid-schedule (`fit_one_cycle(start_epoch=)`), and other
settings in that OUT are refused. The state is deleted once the model is written.

predict: restores any image size in blended tiles; EXIF orientation respected; outputs
`OUT/<stem>.png`, never an input file.

eval: `metrics.json` with the model's and the degraded baseline's PSNR / PSNR-Y / SSIM / LPIPS
(see `lesson7.restore.evaluate`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from lesson7.data.crappify import CRAPPIFIERS, crappify_folder, make_crappifier
from lesson7.data.images import IMAGE_EXTENSIONS, open_pil_image
from lesson7.data.pairs import DEGRADE_SCALES, BicubicDegrader, find_pairs
from lesson7.models.encoders import ENCODERS
from lesson7.restore.evaluate import DEGRADES, evaluate
from lesson7.restore.restorer import Restorer, UnetConfig, tensor_to_pil
from lesson7.tasks.common import seed_everything
from lesson7.train.callbacks import SaveEveryEpoch
from lesson7.train.checkpoint import atomic_path, atomic_write_json

__all__ = ["register", "run", "train", "predict", "eval_run", "build_data", "make_pairs"]

LOSSES = ("mse", "l1", "feature")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("restore", help="U-Net image restoration: train, predict, eval",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="restore_cmd", required=True)
    add_train_arguments(sub.add_parser("train", help="train a restoration U-Net"))
    add_predict_arguments(sub.add_parser("predict", help="restore images with a trained model"))
    add_eval_arguments(sub.add_parser("eval", help="score a model against the degraded input"))
    p.set_defaults(func=run)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hr", type=Path, nargs="+", required=True,
                   help="folder(s) of clean target images")
    p.add_argument("--lowres", type=Path, default=None,
                   help="folder of degraded inputs, paired with --hr by relative path/stem")
    p.add_argument("--crappify", choices=sorted(CRAPPIFIERS), default=None,
                   help="make the inputs from --hr with this crappifier")
    p.add_argument("--degrade", choices=sorted(DEGRADE_SCALES), default=None,
                   help="bicubic SR track: inputs are the bicubic down+up-scaled --hr images")
    p.add_argument("--arch", choices=sorted(ENCODERS), default="resnet34")
    p.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True,
                   help="ImageNet encoder weights (torchvision cache/download, or "
                        "--encoder-weights)")
    p.add_argument("--encoder-weights", type=Path, default=None,
                   help="encoder weights file (safetensors or torchvision .pth)")
    p.add_argument("--loss", choices=LOSSES, default="mse",
                   help="mse (superres-gan notebook), l1, or feature (superres notebook)")
    p.add_argument("--feature-weights", type=Path, default=None,
                   help="VGG16(-BN) weights for --loss feature (default: torchvision vgg16_bn, "
                        "else ../shared/weights/vgg16_features.safetensors)")
    p.add_argument("--size", default="128", help="training size(s), e.g. 128 or 128,256")
    p.add_argument("--bs", type=int, default=32, help="batch size at the first size "
                   "(scaled by (first/size)^2 at later sizes)")
    p.add_argument("--epochs", type=int, default=2, help="frozen epochs per size")
    p.add_argument("--unfreeze-epochs", type=int, default=3, help="unfrozen epochs per size")
    p.add_argument("--lr", type=float, default=1e-3, help="base LR (see module docstring)")
    p.add_argument("--wd", type=float, default=1e-3)
    p.add_argument("--valid-pct", type=float, default=0.1)
    p.add_argument("--norm", choices=["weight", "batch", "spectral"], default="weight")
    p.add_argument("--self-attention", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--blur", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--identity-init", action="store_true",
                   help="no y_range; the U-Net starts as the identity on its input (not in the lesson)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workers", type=int, default=None, help="crappify / decode processes")
    p.add_argument("--out", type=Path, default=Path("runs/restore"))
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")


def add_predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="run folder or model.safetensors")
    p.add_argument("images", type=Path, nargs="+", help="image files or folders")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--tile", type=int, default=512, help="tile size in px")
    p.add_argument("--overlap", type=int, default=32, help="tile overlap in px (blended)")
    p.add_argument("--scale", type=float, default=None,
                   help="upsample inputs by this factor first (default: the training one)")
    p.add_argument("--device", default="auto")


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="run folder or model.safetensors")
    p.add_argument("--hr", type=Path, required=True, help="folder of clean images")
    p.add_argument("--degrade", choices=list(DEGRADES), default=None,
                   help="how inputs are made (default: the training one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-size", type=int, default=None,
                   help="crappify tracks: HR short side (default: the last training size)")
    p.add_argument("--lpips-net", choices=["alex", "vgg"], default="alex")
    p.add_argument("--lpips-weights", type=Path, default=None,
                   help="trunk weights for LPIPS (default: torchvision, else ../shared)")
    p.add_argument("--no-lpips", action="store_true",
                   help="skip LPIPS (reported as null), e.g. offline without ImageNet weights")
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=32)
    p.add_argument("--out", type=Path, default=None,
                   help="folder for metrics.json (default: RUN/eval_<hr folder>_<degrade>)")
    p.add_argument("--device", default="auto")


def run(args: argparse.Namespace) -> int:
    cmd = {"train": train, "predict": predict, "eval": eval_run}[args.restore_cmd]
    try:
        return cmd(args)
    except ValueError as e:
        print(f"lesson7 restore {args.restore_cmd}: error: {e}", file=sys.stderr)
        return 2


# -- train -----------------------------------------------------------------------------------
def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--size must be integers separated by commas, got {text!r}") from None
    if not sizes or any(s < 16 for s in sizes):
        raise ValueError(f"--size values must be >= 16 px, got {text!r}")
    return sizes


def _check_train_args(args: argparse.Namespace) -> None:
    sources = sum(x is not None for x in (args.lowres, args.crappify, args.degrade))
    if sources != 1:
        raise ValueError("give exactly one of --lowres DIR, --crappify MODE, --degrade bicubic-xN")
    if args.lowres is not None and len(args.hr) != 1:
        raise ValueError("--lowres pairs with exactly one --hr folder")
    for d in args.hr:
        if not d.is_dir():
            raise ValueError(f"--hr {d} is not a folder")
    for flag, v in (("--bs", args.bs), ("--epochs", args.epochs + 1),
                    ("--unfreeze-epochs", args.unfreeze_epochs + 1)):
        if v < 1:
            raise ValueError(f"{flag} must be >= {'1' if flag == '--bs' else '0'}")
    if args.epochs + args.unfreeze_epochs < 1:
        raise ValueError("--epochs + --unfreeze-epochs must be >= 1")
    if args.lr <= 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    if not 0 < args.valid_pct < 1:
        raise ValueError(f"--valid-pct must be in (0, 1), got {args.valid_pct}")
    if args.encoder_weights is not None and not args.encoder_weights.is_file():
        raise ValueError(f"--encoder-weights {args.encoder_weights} is not a file")


def make_pairs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """(lr, hr) pairs, crappifying/degrading into OUT/lowres first if asked."""
    if args.lowres is not None:
        return find_pairs(args.lowres, args.hr[0])
    if args.degrade is not None:
        crappifier, suffix = BicubicDegrader(DEGRADE_SCALES[args.degrade]), ".png"  # lossless
    else:
        crappifier, suffix = make_crappifier(args.crappify), None
    pairs = []
    for i, hr in enumerate(args.hr):
        lr_dir = args.out / "lowres" / f"{i}_{hr.resolve().name}"
        report = crappify_folder(hr, lr_dir, crappifier, workers=args.workers, seed=args.seed,
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
    root = Path(_common_root([lr for lr, _ in pairs]))
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


def _common_root(paths: list[Path]) -> str:
    import os

    return os.path.commonpath([str(p.parent) for p in paths])


def _loss_and_metrics(args: argparse.Namespace):
    from lesson7.losses import FeatureLoss, L1LossFlat, MSELossFlat, component_metrics

    if args.loss == "feature":
        loss = FeatureLoss.from_pretrained("vgg16_bn", weights_path=args.feature_weights)
        return loss, component_metrics(loss)
    return (MSELossFlat() if args.loss == "mse" else L1LossFlat()), []


# Flags that define a training run: a saved state resumes only under the same ones.
RUN_FLAGS = ("hr", "lowres", "crappify", "degrade", "arch", "pretrained", "encoder_weights", "loss",
             "feature_weights", "size", "bs", "epochs", "unfreeze_epochs", "lr", "wd", "valid_pct",
             "norm", "self_attention", "blur", "identity_init", "seed")


def _run_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {k: json.loads(json.dumps(getattr(args, k), default=str)) for k in RUN_FLAGS}


def _phases(args: argparse.Namespace, sizes: list[int]) -> list[tuple[int, bool, int]]:
    """(size, frozen, epochs) in order: per size, a frozen then an unfrozen one-cycle."""
    phases = []
    for size in sizes:
        if args.epochs:
            phases.append((size, True, args.epochs))
        if args.unfreeze_epochs:
            phases.append((size, False, args.unfreeze_epochs))
    return phases


def _resume_point(state: Path, settings: dict[str, Any], out: Path) -> dict[str, Any] | None:
    from lesson7.train.checkpoint import read_metadata

    if not state.with_suffix(".json").is_file():
        return None
    meta = read_metadata(state.with_suffix(".safetensors"))
    if meta.get("run") != settings:
        changed = sorted(k for k in settings if (meta.get("run") or {}).get(k) != settings[k])
        raise ValueError(f"--out {out} holds an unfinished run with other settings "
                         f"({', '.join(changed)}); use a new --out, or delete {state.parent} to "
                         "start afresh")
    return meta


def train(args: argparse.Namespace) -> int:
    """Train (or resume: re-run the same command) a restoration U-Net; writes the run folder."""
    import shutil

    from lesson7.models.unet import unet_learner

    _check_train_args(args)
    sizes = _sizes(args.size)
    seed_everything(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    pairs = make_pairs(args)
    bicubic = args.degrade is not None
    scratch = not args.pretrained and args.encoder_weights is None
    loss_fn, metrics = _loss_and_metrics(args)
    settings = _run_settings(args)
    state = args.out / "state" / "last"
    resume = _resume_point(state, settings, args.out)
    start_phase, start_epoch = (resume["phase"], resume["epoch"]) if resume else (0, 0)
    t0 = time.perf_counter()
    y_range = None if args.identity_init else (-3.0, 3.0)
    learn, data_size = None, None

    def make_learner(data: Any) -> Any:
        learn = unet_learner(data, args.arch, pretrained=args.pretrained,
                             weights_path=args.encoder_weights, blur=args.blur,
                             self_attention=args.self_attention, y_range=y_range,
                             norm_type=args.norm, loss_fn=loss_fn, metrics=metrics, wd=args.wd,
                             path=args.out, device=args.device)
        if args.identity_init:
            learn.model.init_identity_()
        if resume:
            learn.load(state, with_opt=True)
            learn.recorder.history = list(resume.get("history", []))
        return learn

    for i, (size, frozen, n_epochs) in enumerate(_phases(args, sizes)):
        first = start_epoch if i == start_phase else 0
        if i < start_phase or first >= n_epochs:
            continue
        bs = max(1, round(args.bs * (sizes[0] / size) ** 2))
        if size != data_size:
            data = build_data(pairs, size, bs, bicubic, args.valid_pct, args.workers)
            print(f"size {size}, bs {bs}: {len(data.train_dl)} train / {len(data.valid_dl)} "
                  "valid batches")
            data_size = size
            if learn is not None:  # progressive resizing: same model, bigger images
                learn.data = data.to(learn.device)
        if learn is None:
            learn = make_learner(data)
            if resume:
                print(f"resuming {args.out}: phase {i + 1}, epoch {first + 1} of {n_epochs}")
        if frozen and not scratch:
            learn.freeze()
            lrs = slice(args.lr * 3)
        else:
            learn.unfreeze()
            lrs = args.lr if scratch else slice(args.lr / 1000, args.lr)
        saver = SaveEveryEpoch(state, phase=i, run=settings)  # the resume point
        learn.fit_one_cycle(n_epochs, lrs, pct_start=0.8 if frozen else 0.3, cbs=[saver],
                            start_epoch=first)
    if learn is None:  # every epoch was done before an interruption: finish from the saved state
        bs = max(1, round(args.bs * (sizes[0] / sizes[-1]) ** 2))
        learn = make_learner(build_data(pairs, sizes[-1], bs, bicubic, args.valid_pct,
                                        args.workers))
    cfg = UnetConfig(arch=args.arch, n_out=3, in_channels=3, img_size=(sizes[0], sizes[0]),
                     blur=args.blur, self_attention=args.self_attention, y_range=y_range,
                     norm_type=args.norm,
                     scale=float(DEGRADE_SCALES[args.degrade]) if bicubic else 1.0)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
              if k != "func"}
    config["hr"] = [str(h) for h in args.hr]
    degrade = args.degrade or args.crappify
    Restorer(learn.model, cfg).save(args.out / "model", run_config=config, degrade=degrade,
                                    train_size=sizes[-1])
    atomic_write_json(args.out / "config.json", {**config, "unet": asdict(cfg)})
    history = learn.recorder.history
    atomic_write_json(args.out / "metrics.json", {
        "task": "restore", "history": history, "final": history[-1] if history else {},
        "n_pairs": len(pairs), "train_seconds": time.perf_counter() - t0})
    save_results(learn, args.out / "results.png")
    shutil.rmtree(state.parent, ignore_errors=True)  # finished: the resume point is not needed
    print(f"saved {args.out / 'model.safetensors'}")
    return 0


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


# -- predict ---------------------------------------------------------------------------------
def _device(name: str) -> torch.device:
    from lesson7.train.learner import pick_device

    return pick_device(name)


def _image_files(paths: list[Path]) -> list[Path]:
    files = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXTENSIONS)
        elif p.is_file():
            files.append(p)
        else:
            raise ValueError(f"input {p} does not exist")
    return files


def predict(args: argparse.Namespace) -> int:
    if args.tile < 16 or args.overlap < 0 or args.overlap >= args.tile:
        raise ValueError(f"need --tile >= 16 and 0 <= --overlap < --tile, got {args.tile}, "
                         f"{args.overlap}")
    restorer = Restorer.load(args.checkpoint, _device(args.device))
    files = _image_files(args.images)
    inputs = {f.resolve() for f in files}
    failures = []
    for f in files:
        dest = args.out / f"{f.stem}.png"
        if dest.resolve() in inputs:
            raise ValueError(f"--out {args.out} would overwrite the input {f}")
        try:
            img = open_pil_image(f, "L" if restorer.cfg.in_channels == 1 else "RGB")  # EXIF upright
            out = restorer.restore(img, args.scale, args.tile, args.overlap)
        except ValueError as e:
            failures.append((f, str(e)))
            continue
        with atomic_path(dest) as tmp:
            out.save(tmp, "PNG")
        print(f"{f} -> {dest} ({out.size[0]}x{out.size[1]})")
    for f, why in failures:
        print(f"FAILED {f}: {why}", file=sys.stderr)
    return 1 if failures else 0


# -- eval ------------------------------------------------------------------------------------
def eval_run(args: argparse.Namespace) -> int:
    from lesson7.quality import LPIPS
    from lesson7.restore.restorer import resolve_checkpoint
    from lesson7.train.checkpoint import read_metadata

    ckpt = resolve_checkpoint(args.checkpoint)
    meta = read_metadata(ckpt)
    restorer = Restorer.load(ckpt, _device(args.device))
    degrade = args.degrade or meta.get("degrade")
    if degrade is None:
        raise ValueError("--degrade is needed: the model was trained on given --lowres pairs")
    eval_size = args.eval_size
    if eval_size is None and degrade not in DEGRADE_SCALES:
        eval_size = meta.get("train_size")
    if not args.hr.is_dir():
        raise ValueError(f"--hr {args.hr} is not a folder")
    files = _image_files([args.hr])

    def restore_fn(x: torch.Tensor) -> torch.Tensor:
        return restorer.restore_tensor(x, args.tile, args.overlap)

    result = evaluate(restore_fn, files, degrade, seed=args.seed, eval_size=eval_size,
                      root=args.hr,
                      lpips=False if args.no_lpips else LPIPS(args.lpips_net, args.lpips_weights),
                      progress=sys.stderr.isatty())
    result["checkpoint"] = str(ckpt)
    result["hr"] = str(args.hr)
    out = args.out if args.out is not None else ckpt.parent / f"eval_{args.hr.name}_{degrade}"
    path = atomic_write_json(Path(out) / "metrics.json", result)
    print(json.dumps({k: result[k] for k in ("model", "baseline", "n_images")}, indent=2))
    print(f"wrote {path}")
    return 0
