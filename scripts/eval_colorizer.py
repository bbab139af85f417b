"""Score a colorizer on the held-out photos and (with --card) write the scores into its model card.

    python scripts/eval_colorizer.py --model lesson7/assets/colorizer --shared SHARED \
        [--sets bsd100 pets_valid] [--render-size 256] [--max-side 512] \
        [--card lesson7/assets/colorizer.md] [--out colorizer_eval.json]

Held-out sets (never trained on): BSD100 (BSDS500 `val`) and the pets validation split (a
seeded 10 % of the sorted Oxford-IIIT Pet sample, seed 42: the photos
`scripts/prepare_shipped_data.py` leaves out). Each photo, long side reduced to --max-side, is
made grey and colorized; the output and the grey input are scored against the photo
(`lesson7.colorize.evaluate`: PSNR and SSIM on RGB, LPIPS AlexNet). Runs on the CPU; LPIPS
needs its AlexNet trunk (torchvision cache or `alexnet_features.safetensors` in
$LESSON7_WEIGHTS), else --no-lpips.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from lesson7.colorize.colorizer import Colorizer, resolve_colorizer
from lesson7.colorize.evaluate import evaluate_colorizer
from lesson7.data.items import get_image_files
from lesson7.data.splits import split_by_rand_pct
from lesson7.files import atomic_write_json, atomic_write_text

SCORES_BEGIN, SCORES_END = "<!-- held-out scores -->", "<!-- /held-out scores -->"
SET_NAMES = {"bsd100": "BSD100", "pets_valid": "pets validation split"}


def held_out_sets(shared: Path) -> dict[str, tuple[list[Path], Path]]:
    """{set: (files, root)}: BSD100 and the pets validation split."""
    pets_root = shared / "datasets" / "oxford_pets_sample"
    pets = get_image_files(pets_root)
    _, valid = split_by_rand_pct(len(pets), 0.1, seed=42)
    bsd = shared / "datasets" / "bsds500" / "val"
    return {"bsd100": (get_image_files(bsd), bsd),
            "pets_valid": ([pets[i] for i in sorted(valid)], pets_root)}


def scores_table(result: dict, model: str, command: str) -> str:
    """The model card's held-out block (Markdown)."""
    rows = ["| set | n | PSNR colorized / grey | SSIM colorized / grey | LPIPS colorized / grey "
            "(lower is better) |", "|---|---|---|---|---|"]
    for name, s in result["sets"].items():
        m, b = s["model"], s["baseline"]
        lp = (f"{m['lpips']:.3f} / {b['lpips']:.3f}" if m["lpips"] is not None else "n/a")
        rows.append(f"| {SET_NAMES.get(name, name)} | {s['n_images']} | {m['psnr']:.2f} / "
                    f"{b['psnr']:.2f} | {m['ssim']:.4f} / {b['ssim']:.4f} | {lp} |")
    first = next(iter(result["sets"].values()))
    return (f"**Held-out scores** (`{command}`; {result['device']}): each photo, long side at most "
            f"{first['max_side']} px, made grey and colorized at render size "
            f"{first['render_size']}; the colorized output and the grey input scored against the "
            "colour photo: PSNR and SSIM on RGB (SSIM averaged over R, G, B), LPIPS (AlexNet). "
            "One trained model (one seed), so no spread is given. The luminance is the photo's "
            "own in both, so every difference is colour.\n\n" + "\n".join(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="colorizer PREFIX, .safetensors or run")
    ap.add_argument("--shared", type=Path, required=True, help="folder holding datasets/")
    ap.add_argument("--sets", nargs="+", default=["bsd100", "pets_valid"], choices=list(SET_NAMES))
    ap.add_argument("--render-size", type=int, default=None)
    ap.add_argument("--max-side", type=int, default=512)
    ap.add_argument("--lpips", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--limit", type=int, default=None, help="score only the first N photos per set")
    ap.add_argument("--card", type=Path, default=None, help="model card whose scores block to fill")
    ap.add_argument("--out", type=Path, default=None, help="metrics JSON (default: MODEL.eval.json)")
    args = ap.parse_args()
    if (args.shared / "weights").is_dir():  # the staged LPIPS trunk, unless told otherwise
        os.environ.setdefault("LESSON7_WEIGHTS", str(args.shared / "weights"))

    ckpt = resolve_colorizer(args.model)
    colorizer = Colorizer.load(ckpt)
    lpips = None
    if args.lpips:
        from lesson7.quality import LPIPS

        lpips = LPIPS("alex")
    sets = held_out_sets(args.shared)
    t0 = time.perf_counter()
    result = {"model": str(ckpt), "sets": {},
              "device": f"CPU ({platform.processor() or platform.machine()}, "
                        f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f})"}
    for name in args.sets:
        files, root = sets[name]
        files = files[:args.limit] if args.limit else files
        result["sets"][name] = evaluate_colorizer(colorizer, files, root, args.render_size,
                                                  args.max_side, lpips,
                                                  progress=sys.stderr.isatty())
        s = result["sets"][name]
        print(f"{name}: n={s['n_images']} model {s['model']} | grey {s['baseline']}", flush=True)
    result["seconds"] = time.perf_counter() - t0
    out = args.out or ckpt.with_suffix(".eval.json")
    atomic_write_json(out, result)
    print(f"wrote {out}")
    if args.card is not None:
        command = "python scripts/eval_colorizer.py " + " ".join(
            "SHARED" if a == str(args.shared) else a for a in sys.argv[1:])
        text = args.card.read_text()
        if SCORES_BEGIN not in text or SCORES_END not in text:
            raise SystemExit(f"{args.card} has no {SCORES_BEGIN} ... {SCORES_END} block")
        head, rest = text.split(SCORES_BEGIN, 1)
        _, tail = rest.split(SCORES_END, 1)
        block = scores_table(result, str(args.model), command)
        atomic_write_text(args.card, f"{head}{SCORES_BEGIN}\n{block}\n{SCORES_END}{tail}")
        print(f"filled the held-out scores of {args.card}")
    print(json.dumps({k: {"model": v["model"], "baseline": v["baseline"]}
                      for k, v in result["sets"].items()}, indent=1))


if __name__ == "__main__":
    main()
