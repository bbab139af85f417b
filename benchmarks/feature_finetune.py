"""Benchmark: does the lesson's feature loss make a trained restorer sharper than more L1 does?

The lesson's claim (`lesson7-superres.ipynb`, REFERENCE §2.4): a U-Net trained with the feature
loss (pixel L1 + VGG16 feature L1 + Gram terms) gives visibly sharper restorations than a pixel
loss. On a CPU hour a restorer cannot be trained from scratch far enough to say (see
`superres_lesson.py`), so this starts where the lesson's own later steps start -- from a trained
generator (the lesson's imagenet notebook fine-tunes its pets model; NoGAN pretrains with a pixel
loss first): the shipped x4 restorer, trained with L1. From it, each arm fine-tunes for the same
batches, same data, schedule and seed:

  l1              more L1 (the control: what the extra steps alone give)
  feature         the lesson's FeatureLoss: relu3_3/4_3/5_3, weights [5, 15, 2], Gram 5e3
  feature_nogram  the same without the Gram terms (DeOldify's choice, `deoldify/loss.py`)

Each arm is `scripts/train_shipped_restorer.py --init START --frozen-epochs 0` (the command that
would make a shipped model from it), on the shipped model's training photos; every arm runs for
each seed. Then every model, the start model and bicubic are scored on the held-out sets of
`shipped_restorer.py` (Set5, BSD100, the pets validation split; realistic degradation at x4,
per-file seed; `--scale 1`: the same chain without the final downscale, from the shipped
same-size restorer, against the degraded photo itself): PSNR-Y, SSIM-Y, LPIPS (AlexNet -- not
the VGG the loss uses), and the colour shift (mean |per-image channel mean - target's|, 0-255:
a wash of colour shows here). Prints
per set the median over seeds with the range, writes OUT/results.json, OUT/results.md and a
gallery (the same crops from each model of the first seed). A killed run continues where it
stopped when started again (trained arms are kept; an arm resumes from its last epoch).

    LESSON7_WEIGHTS=../shared/weights python benchmarks/feature_finetune.py --out runs/bench_feature_ft
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shipped_restorer import SHARED, held_out_sets, score  # noqa: E402  (sets LESSON7_WEIGHTS)

from lesson7.data.crappify import file_seed  # noqa: E402
from lesson7.data.pairs import modcrop  # noqa: E402
from lesson7.data.sr_pairs import degrade_real  # noqa: E402
from lesson7.quality import LPIPS  # noqa: E402
from lesson7.restore.restorer import Restorer, pil_to_tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARMS = {"l1": ["--loss", "l1"],
        "feature": ["--loss", "feature", "--gram-weight", "5e3"],
        "feature_nogram": ["--loss", "feature", "--gram-weight", "0"]}
METRICS = ("psnr_y", "ssim_y", "lpips", "colour_shift")


def train_arm(arm: str, seed: int, args: argparse.Namespace) -> Path:
    out = args.out / f"{arm}_s{seed}"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_shipped_restorer.py"),
           "--hr", *map(str, args.hr), "--out", str(out), "--init", str(args.start),
           "--crop", str(args.crop), "--scale", str(args.scale), "--bs", str(args.bs),
           "--frozen-epochs", "0",
           "--epochs", str(args.epochs), "--samples-per-image", str(args.samples_per_image),
           "--lr", str(args.lr), "--workers", str(args.workers), "--seed", str(seed),
           "--device", "cpu", *ARMS[arm]]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    print(f"== {arm} seed {seed}: {out}", flush=True)
    subprocess.run(cmd, check=True, env=env)
    return out


def colour_shift(pred: torch.Tensor, hr: torch.Tensor) -> float:
    """Mean over channels of |mean(pred_c) - mean(hr_c)|, in 0-255 levels."""
    return ((pred.mean((1, 2)) - hr.mean((1, 2))).abs().mean() * 255).item()


def evaluate(models: dict[str, Restorer | None], args: argparse.Namespace) -> dict:
    """{set: {model: [per-image scores]}}; None stands for bicubic."""
    lpips = LPIPS("alex")
    out: dict = {}
    for name, items in held_out_sets(args.shared).items():
        if name not in args.sets:
            continue
        rows: dict[str, list[dict[str, float]]] = {m: [] for m in models}
        t0 = time.perf_counter()
        for f, root in items[:args.limit]:
            hr = modcrop(Image.open(f).convert("RGB"), 4)
            lr = degrade_real(hr, args.scale,
                              random.Random(file_seed(args.eval_seed, f.relative_to(root))))
            hr_t = pil_to_tensor(hr)
            for m, restorer in models.items():
                pred = (lr.resize(hr.size, Image.Resampling.BICUBIC) if restorer is None
                        else restorer.restore(lr, scale=args.scale, tile=args.tile))
                p = pil_to_tensor(pred)
                rows[m].append({**score(p, hr_t, lpips), "colour_shift": colour_shift(p, hr_t)})
        out[name] = rows
        print(f"scored {name}: {len(items[:args.limit])} images x {len(models)} models in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    return out


def base_name(scale: int) -> str:
    """The no-model baseline: bicubic enlargement at x4, the degraded photo itself at x1."""
    return "bicubic" if scale > 1 else "input"


def summarise(scores: dict, seeds: list[int], arms: list[str], scale: int) -> dict:
    """{set: {row: {metric: (median, lo, hi)}}}: per-seed set means, then median/range."""
    summary: dict = {}
    for name, rows in scores.items():
        def mean(model: str, k: str, rows: dict = rows) -> float:
            return statistics.mean(r[k] for r in rows[model])
        table = {}
        for base in (base_name(scale), "start"):
            table[base] = {k: (mean(base, k),) * 3 for k in METRICS}
        for arm in arms:
            table[arm] = {}
            for k in METRICS:
                vals = [mean(f"{arm}_s{s}", k) for s in seeds]
                table[arm][k] = (statistics.median(vals), min(vals), max(vals))
        summary[name] = table
    return summary


def markdown(summary: dict, header: str) -> str:
    lines = [header, ""]
    for name, table in summary.items():
        lines += [f"**{name}**", "", "| model | PSNR-Y | SSIM-Y | LPIPS | colour shift |",
                  "|---|---|---|---|---|"]
        for row, vals in table.items():
            cells = []
            for k, fmt in zip(METRICS, (".2f", ".4f", ".4f", ".2f"), strict=True):
                med, lo, hi = vals[k]
                cells.append(f"{med:{fmt}}" + ("" if lo == hi else f" ({lo:{fmt}}–{hi:{fmt}})"))
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def gallery(models: dict[str, Restorer | None], args: argparse.Namespace, path: Path,
            crop: int = 160) -> None:
    """Centre crops of the first images of each set: one row per image, one column per model."""
    picks = [it for name, items in held_out_sets(args.shared).items() if name in args.sets
             for it in items[:2]]
    names = [*models, "target"]
    sheet = Image.new("RGB", (crop * len(names), 14 + crop * len(picks)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, n in enumerate(names):
        draw.text((j * crop + 3, 2), n, fill="black")
    for i, (f, root) in enumerate(picks):
        hr = modcrop(Image.open(f).convert("RGB"), 4)
        lr = degrade_real(hr, args.scale,
                          random.Random(file_seed(args.eval_seed, f.relative_to(root))))
        box = ((hr.width - crop) // 2, (hr.height - crop) // 2)
        box = (*box, box[0] + crop, box[1] + crop)
        for j, n in enumerate(names):
            r = models.get(n)
            img = (hr if n == "target" else lr.resize(hr.size, Image.Resampling.BICUBIC)
                   if r is None else r.restore(lr, scale=args.scale, tile=args.tile))
            sheet.paste(img.crop(box), (j * crop, 14 + i * crop))
    sheet.save(path, quality=90)
    print(f"gallery: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--start", type=Path, default=None,
                    help="the trained restorer every arm starts from (default: the shipped "
                         "restorer_x4, or restorer_x1 with --scale 1)")
    ap.add_argument("--scale", type=int, default=4, choices=(4, 1),
                    help="4: x4 from a quarter-size degraded photo; 1: same size (restorer_x1)")
    ap.add_argument("--hr", type=Path, nargs="+",
                    default=[ROOT / "data/shipped/bsd200", ROOT / "data/shipped/pets_train"],
                    help="training photos (scripts/prepare_shipped_data.py makes the defaults)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_feature_ft"))
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--arms", nargs="+", default=["l1", "feature"], choices=list(ARMS))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--samples-per-image", type=int, default=2)
    ap.add_argument("--bs", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sets", nargs="+", default=["set5", "bsd100", "pets_valid"])
    ap.add_argument("--limit", type=int, default=None, help="first N images of each set")
    ap.add_argument("--eval-seed", type=int, default=0)
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--no-train", action="store_true", help="only score the arms already trained")
    args = ap.parse_args()
    if args.start is None:
        args.start = ROOT / "lesson7" / "assets" / f"restorer_x{args.scale}"
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    header = (f"device cpu ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
              f"commit {commit}, {args.threads} threads, load {os.getloadavg()[0]:.2f}; start "
              f"{args.start.name}, x{args.scale}; {args.epochs} epochs x "
              f"{args.samples_per_image} crops/photo, bs {args.bs}, crop {args.crop}, "
              f"lr {args.lr:g}; seeds {args.seeds}")
    print(header, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if not args.no_train:
        for seed in args.seeds:
            for arm in args.arms:
                train_arm(arm, seed, args)
    train_s = time.perf_counter() - t0
    torch.set_num_threads(args.threads)
    models: dict[str, Restorer | None] = {base_name(args.scale): None,
                                          "start": Restorer.load(args.start)}
    for seed in args.seeds:
        for arm in args.arms:
            models[f"{arm}_s{seed}"] = Restorer.load(args.out / f"{arm}_s{seed}")
    scores = evaluate(models, args)
    summary = summarise(scores, args.seeds, args.arms, args.scale)
    md = markdown(summary, header + f"; training {train_s:.0f} s this call")
    print(md)
    (args.out / "results.md").write_text(md)
    (args.out / "results.json").write_text(json.dumps(
        {"header": header, "summary": summary, "per_image": scores}, indent=1))
    first = {k: v for k, v in models.items()
             if v is None or k == "start" or k.endswith(f"_s{args.seeds[0]}")}
    gallery(first, args, args.out / "gallery.jpg")


if __name__ == "__main__":
    main()
