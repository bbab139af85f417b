"""Question: how much better than its degraded input is a U-Net trained with `lesson7 restore
train`, on the bicubic SR track (Set5 / BSD100, PSNR-Y with shave = scale) or a crappify track?

Trains once (any `restore train` flags after `--`), then runs `restore eval` on each test set and
prints model vs baseline PSNR / PSNR-Y / SSIM(Y) / LPIPS with the training time.

    # the issue's CPU target (30 min of training on 2 cores, aim +1.5 dB Y on Set5 x4):
    python benchmarks/restore_quality.py --out runs/bench_x4 -- \
        --hr ../shared/datasets/bsds500/train ../shared/datasets/t91 --degrade bicubic-x4 \
        --arch vgg16 --encoder-weights ../shared/weights/vgg16_features.safetensors \
        --size 96 --bs 16 --epochs 3 --unfreeze-epochs 6
    # smoke run (a minute or two):
    python benchmarks/restore_quality.py --out /tmp/bench --limit 2 --sets set5 -- \
        --hr ../shared/datasets/t91 --degrade bicubic-x4 --arch resnet18 --no-pretrained \
        --size 48 --bs 8 --epochs 1 --unfreeze-epochs 0
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lesson7.cli import main as lesson7_cli
from lesson7.configs.restore import EvalConfig
from lesson7.restore.evaluate import evaluate_restorer

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
if (SHARED.parent / "weights").is_dir():  # offline LPIPS trunks, found via $LESSON7_WEIGHTS
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED.parent / "weights"))
TEST_SETS = {"set5": SHARED / "set5", "bsd100": SHARED / "bsds500" / "val"}


def _fmt(scores: dict) -> str:
    lpips = "n/a" if scores["lpips"] is None else f"{scores['lpips']:.3f}"
    return f"{scores['psnr']:.2f} / {scores['psnr_y']:.2f} / {scores['ssim']:.4f} / {lpips}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sets", nargs="+", default=["set5", "bsd100"], choices=sorted(TEST_SETS))
    ap.add_argument("--limit", type=int, default=None, help="evaluate on the first N images only")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--lpips", action=argparse.BooleanOptionalAction, default=True,
                    help="score LPIPS (needs the AlexNet trunk; --no-lpips: n/a)")
    ap.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then `restore train` flags")
    args = ap.parse_args()
    train_args = [a for a in args.train_args if a != "--"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"commit {commit}; train flags: {' '.join(train_args)}")
    t0 = time.perf_counter()
    if lesson7_cli(["restore", "train", *train_args, "--out", str(args.out),
                    "--device", args.device]) != 0:
        sys.exit("training failed")
    train_s = time.perf_counter() - t0
    rows = []
    for name in args.sets:
        folder = TEST_SETS[name]
        if args.limit:  # a temporary folder with the first N images
            tmp = Path(tempfile.mkdtemp())
            for f in sorted(folder.glob("*.*"))[: args.limit]:
                if f.suffix.lower() in (".png", ".jpg", ".bmp"):
                    shutil.copy(f, tmp / f.name)
            folder = tmp
        res = evaluate_restorer(EvalConfig(checkpoint=args.out, hr=folder, lpips=args.lpips,
                                           out=args.out / f"eval_{name}", device=args.device))
        rows.append((name, res))
    print(f"\ntraining time {train_s / 60:.1f} min")
    cols = "PSNR / PSNR-Y / SSIM-Y / LPIPS"
    print(f"| set | n | model {cols} | baseline {cols} |")
    print("|---|---|---|---|")
    for name, r in rows:
        m, b = r["model"], r["baseline"]
        print(f"| {name} ({r['degrade']}) | {r['n_images']} | {_fmt(m)} | {_fmt(b)} |")


if __name__ == "__main__":
    main()
