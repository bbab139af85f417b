"""Question: how long does `lesson7 restore predict` take on a 12-megapixel photo at x1, and how
much memory, with the shipped same-size restorer against the x4 restorer resized back to x1?

Issue 12 asks for a 12-megapixel photo restored at x1 in under a minute on 2 cores, memory
bounded by the tile size. Each run is the whole command in a fresh process, as a user runs it
(start-up, JPEG decode, tiles, PNG encode and write): `lesson7 restore predict [MODEL] PHOTO
--scale 1 --out DIR --overwrite`, timed from outside, its peak RSS read from `os.wait4`. The
variants run interleaved (A B A B ...) so a change of load hits both; reported per variant:
median, min and max of --runs wall times and the largest peak RSS. The photo: the first BSD100
photo enlarged to --size and saved as JPEG q90 (the content barely matters for speed).
Prints the CPU, versions, commit and the load average before and after.

    python benchmarks/restore_big_photo.py                 # 4000x3000, 3 runs each
    python benchmarks/restore_big_photo.py --size 800,600 --runs 3 --variants x1   # smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"

VARIANTS = ("x1", "x4")
"""x1: no model named, so `--scale 1` picks the shipped same-size restorer; x4: the shipped x4
restorer named as the model, its x4 output resized back to x1 (Lanczos), as before it existed."""


def _commit() -> str:
    return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout.strip() or "unknown"


def _run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of `cmd` in a fresh process; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="4000,3000", help="W,H of the photo")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--source", type=Path,
                    default=SHARED / "datasets" / "bsds500" / "val" / "3096.jpg",
                    help="the photo to enlarge (any image)")
    args = ap.parse_args()
    if args.runs < 3:
        ap.error("--runs must be >= 3 (the median of fewer runs says little)")
    w, h = (int(v) for v in args.size.split(","))
    from lesson7.restore.shipped import SHIPPED_MODEL_ENV, shipped_model_path

    if os.environ.get(SHIPPED_MODEL_ENV):
        raise SystemExit(f"unset ${SHIPPED_MODEL_ENV}: this measures the shipped models")
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.machine())
    print(f"device: {cpu} ({os.cpu_count()} logical CPUs); torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), python {platform.python_version()}, "
          f"commit {_commit()}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    cli = [sys.executable, "-m", "lesson7.cli", "restore", "predict"]
    models = {"x1": [], "x4": [str(shipped_model_path(4))]}  # see VARIANTS
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        Image.open(args.source).convert("RGB").resize((w, h), Image.Resampling.BICUBIC).save(
            photo, quality=90)
        print(f"photo: {args.source.name} enlarged to {w}x{h} ({w * h / 1e6:.1f} Mpx), JPEG q90; "
              f"restore predict --scale 1, {args.runs} runs per variant, interleaved")
        walls: dict[str, list[float]] = {v: [] for v in args.variants}
        rss: dict[str, float] = dict.fromkeys(args.variants, 0.0)
        for i in range(args.runs):
            for v in args.variants:
                out = Path(tmp) / f"out_{v}"
                wall, mb = _run([*cli, *models[v], str(photo), "--scale", "1", "--out", str(out),
                                 "--overwrite"])
                with Image.open(out / "photo.png") as im:
                    assert im.size == (w, h), im.size
                walls[v].append(wall)
                rss[v] = max(rss[v], mb)
                print(f"  run {i + 1} {v}: {wall:.1f} s, peak RSS {mb:.0f} MB", flush=True)
    print(f"{'variant':8s} {'median s':>9s} {'min':>7s} {'max':>7s} {'peak RSS MB':>12s}")
    for v in args.variants:
        print(f"{v:8s} {statistics.median(walls[v]):9.1f} {min(walls[v]):7.1f} "
              f"{max(walls[v]):7.1f} {rss[v]:12.0f}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
