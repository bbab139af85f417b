"""Train the restorer that ships inside the package: realistic degradation, x4, on a GPU if any.

    python scripts/train_shipped_restorer.py --hr DIR [DIR ...] --out runs/shipped \
        [--arch efficientnet_lite0] [--epochs 12] [--bs 32] [--crop 256] [--scale 4]
        [--unshuffle 2 --encoder-depth 5]   # with --scale 1: the same-size restorer (restorer_x1)

An `SRUnet` (the Dynamic U-Net on the low-resolution input, pixel-shuffle x4 at the end) on the
pretrained encoder, trained with L1 on pairs made on the fly (`lesson7.data.sr_pairs`: random
crops, Real-ESRGAN-like blur/noise/downscale/JPEG), one-cycle frozen then unfrozen as the
lesson. Writes OUT/model.safetensors + .json (fp32, a restore run folder) and, with --ship,
the fp16 copy for lesson7/assets/. The held-out evaluation is `benchmarks/shipped_restorer.py`.
Data must be split by image before: pass only training photos here.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

from PIL import Image

from lesson7.data.items import get_image_files
from lesson7.data.pair_loader import PairLoader
from lesson7.data.sr_pairs import RealSRPairs
from lesson7.losses import L1LossFlat
from lesson7.models.sr_unet import sr_unet_splitter
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet
from lesson7.runs import run_info
from lesson7.train import Learner, TimeBudget
from lesson7.train.learner import pick_device
from lesson7.train.seed import seed_everything


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
    args = ap.parse_args()

    # the code that trains: read now, not at the end (the tree may move during a long run)
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
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
    cfg = UnetConfig(arch=args.arch, img_size=(lr_size, lr_size), y_range=None, norm_type="weight",
                     upscale=args.scale, features=args.features, scale=1.0,
                     unshuffle=args.unshuffle, encoder_depth=args.encoder_depth)
    model = build_unet(cfg, pretrained=args.pretrained)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.arch} SRUnet x{args.scale} (unshuffle {args.unshuffle}, encoder depth "
          f"{args.encoder_depth}): {n_params:,} parameters", flush=True)
    learn = Learner(model, data, L1LossFlat(), splitter=sr_unet_splitter, wd=args.wd,
                    path=args.out, device=device)
    t0 = time.perf_counter()

    def budget() -> list[TimeBudget]:  # what is left of --max-minutes, for the next phase
        if args.max_minutes is None:
            return []
        return [TimeBudget(max(0.0, args.max_minutes - (time.perf_counter() - t0) / 60))]

    if args.frozen_epochs:
        learn.freeze()
        learn.fit_one_cycle(args.frozen_epochs, slice(args.lr), pct_start=0.8, cbs=budget())
    learn.unfreeze()
    learn.fit_one_cycle(args.epochs, slice(args.lr / 100, args.lr), pct_start=0.3, cbs=budget())
    wall = time.perf_counter() - t0
    recipe = {"data": [str(d) for d in args.hr], "n_photos": len(files), "crop": args.crop,
              "scale": args.scale, "unshuffle": args.unshuffle,
              "encoder_depth": args.encoder_depth, "bs": args.bs, "frozen_epochs": args.frozen_epochs,
              "epochs": args.epochs, "samples_per_image": args.samples_per_image, "lr": args.lr,
              "wd": args.wd, "loss": "L1", "seed": args.seed, "train_seconds": wall,
              "n_params": n_params, "commit": commit, "host": platform.node(),
              **run_info(device)}
    restorer = Restorer(learn.model, cfg)
    restorer.save(args.out / "model", degrade="real", train_size=args.crop, recipe=recipe)
    (args.out / "metrics.json").write_text(json.dumps(
        {"history": learn.recorder.history, "recipe": recipe}, indent=1))
    if args.ship is not None:
        half = Restorer(learn.model.half(), cfg)
        half.save(args.ship, degrade="real", train_size=args.crop, recipe=recipe, dtype="float16")
    print(f"done in {wall:.0f} s: {args.out / 'model.safetensors'}", flush=True)


if __name__ == "__main__":
    main()
