"""Train the restorer that ships inside the package: realistic degradation, x4, on a GPU if any.

    python scripts/train_shipped_restorer.py --hr DIR [DIR ...] --out runs/shipped \
        [--arch efficientnet_lite0] [--epochs 12] [--bs 32] [--crop 256] [--scale 4]
        [--unshuffle 2 --encoder-depth 5]   # with --scale 1: the same-size restorer (restorer_x1)
        [--init lesson7/assets/restorer_x4 --loss feature --frozen-epochs 0]  # fine-tune one

An `SRUnet` (the Dynamic U-Net on the low-resolution input, pixel-shuffle x4 at the end) on the
pretrained encoder, trained with L1 on pairs made on the fly (`lesson7.data.sr_pairs`: random
crops, Real-ESRGAN-like blur/noise/downscale/JPEG), one-cycle frozen then unfrozen as the
lesson. `--loss feature` trains with the lesson's feature loss instead (pixel L1 + VGG16
features + Gram terms, `lesson7.losses.FeatureLoss`; the VGG16 trunk is found through
LESSON7_WEIGHTS or given by --feature-weights), and `--init MODEL` starts from a trained
restorer (its architecture is kept) -- the lesson's superres notebook fine-tunes a pretrained
generator with the feature loss in the same way. Writes OUT/model.safetensors + .json (fp32, a
restore run folder) and, with --ship, the fp16 copy for lesson7/assets/. A killed run resumes
from its last finished epoch when started again with the same flags (OUT/state/). The held-out
evaluation is `benchmarks/shipped_restorer.py`. Data must be split by image before: pass only
training photos here.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from pathlib import Path

from PIL import Image

from lesson7.data.items import get_image_files
from lesson7.data.pair_loader import PairLoader
from lesson7.data.sr_pairs import RealSRPairs
from lesson7.losses import L1LossFlat
from lesson7.losses.perceptual import VGG16_TRUNK_FILE, FeatureLoss
from lesson7.models.sr_unet import sr_unet_splitter
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet
from lesson7.runs import RunFolder, run_info
from lesson7.train import Learner, TimeBudget
from lesson7.train.callbacks import SaveEveryEpoch, TerminateOnNaN
from lesson7.train.learner import pick_device
from lesson7.train.seed import seed_everything
from lesson7.weights import find_weights, where_to_put

# Flags that change what is trained; a resume or a finished run must match them all.
NOT_SETTINGS = {"out", "workers", "device", "ship", "max_minutes", "overwrite"}


class Pairs:
    def __init__(self, train_dl: PairLoader, valid_dl: PairLoader) -> None:
        self.train_dl, self.valid_dl = train_dl, valid_dl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hr", type=Path, nargs="+", required=True, help="folders of training photos")
    ap.add_argument("--exclude", type=Path, default=None,
                    help="text file of image paths to leave out (a validation split)")
    ap.add_argument("--out", type=Path, default=Path("runs/shipped"))
    ap.add_argument("--arch", default="efficientnet_lite0")
    ap.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--unshuffle", type=int, default=1,
                    help="fold d x d pixel blocks into channels first (SRUnet; 2 for --scale 1)")
    ap.add_argument("--encoder-depth", type=int, default=None,
                    help="keep the encoder's first N children (5: Lite0 up to stage 4)")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--frozen-epochs", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=12, help="unfrozen epochs")
    ap.add_argument("--samples-per-image", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--ship", type=Path, default=None, help="also write the fp16 model here")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop training after this much wall time (the model is still saved)")
    ap.add_argument("--init", default=None,
                    help="start from this trained restorer (run folder or .safetensors); its "
                         "architecture is kept and --arch/--features/--unshuffle/--encoder-depth "
                         "are ignored")
    ap.add_argument("--loss", choices=("l1", "feature"), default="l1")
    ap.add_argument("--gram-weight", type=float, default=5e3,
                    help="weight of the Gram (style) terms in --loss feature: the lesson's 5e3; "
                         "0 drops them, as DeOldify's feature loss does")
    ap.add_argument("--feature-weights", type=Path, default=None,
                    help=f"VGG16 trunk for --loss feature (default: {VGG16_TRUNK_FILE} found "
                         "through LESSON7_WEIGHTS)")
    ap.add_argument("--overwrite", action="store_true",
                    help="train again over a finished or unfinished run in --out")
    args = ap.parse_args()

    # the code that trains: read now, not at the end (the tree may move during a long run)
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                if k not in NOT_SETTINGS}
    settings["hr"] = [str(d) for d in args.hr]
    run = RunFolder(args.out)
    try:
        resume, done = run.resume_or_finished(settings, overwrite=args.overwrite)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    if done is not None:
        if args.ship is not None:  # e.g. a model a benchmark trained with these very flags
            ship(args.out, args.ship)
        return
    loss_fn = make_loss(args)
    init = Restorer.load(args.init) if args.init else None
    if init is not None and init.cfg.upscale != args.scale:
        raise SystemExit(f"--init {args.init} is a x{init.cfg.upscale} restorer, not --scale "
                         f"{args.scale}")
    seed_everything(args.seed)
    device = pick_device(args.device)
    exclude = set(Path(args.exclude).read_text().split()) if args.exclude else set()
    listed = [f for d in args.hr for f in get_image_files(d) if str(f) not in exclude]
    # Photos smaller than a crop would have to be enlarged: blurry targets teach blur. Skip them.
    files = [f for f in listed if min(Image.open(f).size) >= args.crop]
    print(f"{len(files)} training photos ({len(exclude)} excluded, {len(listed) - len(files)} "
          f"smaller than --crop {args.crop} skipped)", flush=True)
    train_ds = RealSRPairs(files, args.crop, args.scale, args.samples_per_image, args.seed)
    valid_ds = RealSRPairs(files[::max(1, len(files) // 16)][:16], args.crop, args.scale, 4,
                           seed=args.seed + 1)  # a fixed monitoring set (training photos)
    data = Pairs(PairLoader(train_ds, args.bs, True, args.workers),
                 PairLoader(valid_ds, args.bs, False, min(args.workers, 2)))
    lr_size = args.crop // args.scale
    if init is not None:
        cfg, model = init.cfg, init.model.float()
    else:
        cfg = UnetConfig(arch=args.arch, img_size=(lr_size, lr_size), y_range=None,
                         norm_type="weight", upscale=args.scale, features=args.features,
                         scale=1.0, unshuffle=args.unshuffle, encoder_depth=args.encoder_depth)
        model = build_unet(cfg, pretrained=args.pretrained)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{cfg.arch} SRUnet x{cfg.upscale} (unshuffle {cfg.unshuffle}, encoder depth "
          f"{cfg.encoder_depth}){' from ' + str(args.init) if init else ''}: {n_params:,} "
          f"parameters; {args.loss} loss", flush=True)
    if isinstance(loss_fn, FeatureLoss):
        loss_fn.to(device)
    learn = Learner(model, data, loss_fn, splitter=sr_unet_splitter, wd=args.wd,
                    path=args.out, device=device)
    start_phase, start_epoch = (resume["phase"], resume["epoch"]) if resume else (0, 0)
    if resume:
        learn.load(run.state, with_opt=True)
        learn.recorder.history = list(resume.get("history", []))
        print(f"resuming {args.out}: phase {start_phase + 1}, epoch {start_epoch + 1}", flush=True)
    t0 = time.perf_counter() - (resume or {}).get("train_seconds", 0.0)

    def budget() -> list[TimeBudget]:  # what is left of --max-minutes, for the next phase
        if args.max_minutes is None:
            return []
        return [TimeBudget(max(0.0, args.max_minutes - (time.perf_counter() - t0) / 60))]

    # the lesson's recipe: the new layers alone (encoder frozen), then everything with
    # discriminative learning rates; each phase saves a resume point after every epoch
    phases = [(True, args.frozen_epochs, slice(args.lr), 0.8),
              (False, args.epochs, slice(args.lr / 100, args.lr), 0.3)]
    for i, (frozen, n_epochs, lrs, pct) in enumerate(phases):
        first = start_epoch if i == start_phase else 0
        if i < start_phase or first >= n_epochs:
            continue
        if frozen:
            learn.freeze()
        else:
            learn.unfreeze()
        saver = SaveWithClock(run.state, t0, phase=i, run=settings)
        learn.fit_one_cycle(n_epochs, lrs, pct_start=pct, start_epoch=first,
                            cbs=[TerminateOnNaN(), saver, *budget()])
    wall = time.perf_counter() - t0
    recipe = {"data": [str(d) for d in args.hr], "n_photos": len(files), "crop": args.crop,
              "scale": args.scale, "unshuffle": args.unshuffle,
              "encoder_depth": args.encoder_depth, "bs": args.bs, "frozen_epochs": args.frozen_epochs,
              "epochs": args.epochs, "samples_per_image": args.samples_per_image, "lr": args.lr,
              "wd": args.wd,
              "loss": "L1" if args.loss == "l1" else f"feature (VGG16, gram weight {args.gram_weight:g})",
              "init": args.init, "init_recipe": init_recipe(args.init), "seed": args.seed,
              "train_seconds": wall,
              "n_params": n_params, "commit": commit, "host": platform.node(),
              **run_info(device)}
    restorer = Restorer(learn.model, cfg)
    restorer.save(args.out / "model", degrade="real", train_size=args.crop, recipe=recipe,
                  run=settings)
    run.write_metrics({"history": learn.recorder.history, "recipe": recipe})
    if args.ship is not None:
        ship(args.out, args.ship)
    run.clear_state()  # finished: the resume point is not needed
    print(f"done in {wall:.0f} s: {args.out / 'model.safetensors'}", flush=True)


def ship(out: Path, dest: Path) -> None:
    """The fp16 copy of the finished model in `out`, with its metadata, for lesson7/assets/."""
    from lesson7.train.checkpoint import checkpoint_metadata

    meta = checkpoint_metadata(out / "model.safetensors")
    restorer = Restorer.load(out)
    Restorer(restorer.model.half(), restorer.cfg).save(
        dest, degrade=meta["degrade"], train_size=meta["train_size"], recipe=meta["recipe"],
        dtype="float16")
    print(f"shipped the fp16 copy: {dest.with_suffix('.safetensors')}", flush=True)


def init_recipe(init: str | None) -> dict | None:
    """How the --init model was trained (its own recipe), for the model card."""
    if init is None:
        return None
    from lesson7.restore.restorer import resolve_checkpoint
    from lesson7.train.checkpoint import checkpoint_metadata

    return checkpoint_metadata(resolve_checkpoint(init)).get("recipe")


def make_loss(args: argparse.Namespace):
    """L1, or the lesson's feature loss on the VGG16 trunk (checked before any training)."""
    if args.loss == "l1":
        return L1LossFlat()
    found = args.feature_weights or find_weights(VGG16_TRUNK_FILE)
    if found is None or not Path(found).is_file():
        raise SystemExit(f"--loss feature needs the VGG16 trunk {VGG16_TRUNK_FILE}: "
                         f"{where_to_put(VGG16_TRUNK_FILE)} (or pass --feature-weights PATH)")
    return FeatureLoss.from_pretrained("vgg16", weights_path=found, gram_weight=args.gram_weight)


class SaveWithClock(SaveEveryEpoch):
    """The resume point, with the training seconds so far (a resumed run reports the total)."""

    def __init__(self, name: Path, t0: float, **meta) -> None:
        super().__init__(name, **meta)
        self.t0 = t0

    def after_epoch(self, learn: Learner) -> None:
        self.meta["train_seconds"] = time.perf_counter() - self.t0
        super().after_epoch(learn)


if __name__ == "__main__":
    main()
