"""How much the render size saves: colouring a grey photo at render size 256 (chroma upsampled
onto the full-resolution luminance) vs running the same colorizer on the whole photo.

    python benchmarks/colorize_speed.py [--sizes 640x480 1600x1200] [--runs 3]

The colorizer is the shipped architecture (Lite0 cut at 1/16) with random weights: speed does
not depend on the weights. Each (size, method) is timed `--runs` times, side by side in turn;
the median and range are printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
from PIL import Image

from lesson7.colorize.colorizer import Colorizer, ColorizerConfig, build_colorizer


def photo(w: int, h: int) -> Image.Image:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0) + rng.normal(0, 10, (h, w))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "L")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["640x480", "1600x1200"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--render-size", type=int, default=256)
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = ColorizerConfig()
    c = Colorizer(build_colorizer(cfg), cfg)
    print(f"{c}; torch threads {torch.get_num_threads()}; load {os.getloadavg()}")
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        img = photo(w, h)
        times: dict[str, list[float]] = {"render": [], "full": []}
        for _ in range(args.runs):
            for method, render in (("render", args.render_size), ("full", min(w, h))):
                t0 = time.perf_counter()
                c.colorize(img, render)
                times[method].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{w}x{h}: render {args.render_size}: {med['render']:.2f} s "
              f"[{min(times['render']):.2f}-{max(times['render']):.2f}]; whole photo: "
              f"{med['full']:.2f} s [{min(times['full']):.2f}-{max(times['full']):.2f}]; "
              f"ratio {med['full'] / med['render']:.1f}x; load {os.getloadavg()[0]:.1f}",
              flush=True)


if __name__ == "__main__":
    main()
