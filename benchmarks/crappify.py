"""Question: how fast is `crappify_folder` against a straightforward PIL version of the lesson's
crappifier, at the same number of worker processes?

Baseline = course-v3 `nbs/dl1/crappify.py`: open, resize short side to 96 (bilinear), draw the
quality as text, save as JPEG q, run through a ProcessPoolExecutor (fastai's `parallel`).
Ours adds draft-mode JPEG decoding (DCT scaling), atomic writes, error collection.

    python benchmarks/crappify.py --src ../shared/datasets/oxford_pets_sample --workers 2 --runs 3

With `--end-to-end`, each run is a fresh Python process, so interpreter start-up and imports
count as they do for a command; a third row times the command itself,
`python -m lesson7.cli crappify SRC DST` (its argument parsing and imports included).
Both modes need a quiet machine: on a loaded one the numbers say little.
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw


def _plain_one(args: tuple[Path, Path, Path]) -> None:
    fn, src, dst = args
    dest = dst / fn.relative_to(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    img = Image.open(fn)
    w, h = img.size
    ratio = 96 / min(w, h)
    img = img.resize((int(w * ratio), int(h * ratio)), resample=Image.BILINEAR).convert("RGB")
    w, h = img.size
    q = random.randint(10, 70)
    ImageDraw.Draw(img).text((random.randint(0, w // 2), random.randint(0, h // 2)), str(q),
                             fill=(255, 255, 255))
    img.save(dest, quality=q)


def plain(src: Path, dst: Path, workers: int) -> int:
    files = sorted(p for p in src.rglob("*.jpg"))
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_plain_one, [(f, src, dst) for f in files], chunksize=8))
    return len(files)


def ours(src: Path, dst: Path, workers: int) -> int:
    # Imported here, so the plain runs of --end-to-end do not pay for our imports.
    from lesson7.data.crappify import LessonCrappifier, crappify_folder

    r = crappify_folder(src, dst, LessonCrappifier(), workers=workers, seed=0, progress=False)
    assert r.ok, r.summary()
    return len(r.written)


RUNNERS = {"plain PIL": plain, "lesson7": ours}


def _command(name: str, src: Path, dst: Path, workers: int) -> list[str]:
    """The command line of one end-to-end run: this script (one runner), or the CLI."""
    if name == "lesson7 CLI":
        return [sys.executable, "-m", "lesson7.cli", "crappify", str(src), str(dst),
                "--workers", str(workers), "--seed", "0", "--no-progress"]
    return [sys.executable, __file__, "--one", name, "--src", str(src), "--dst", str(dst),
            "--workers", str(workers)]


def _n_images(src: Path) -> int:
    return sum(1 for _ in src.rglob("*.jpg"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / ".." /
                    "shared" / "datasets" / "oxford_pets_sample")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--end-to-end", action="store_true",
                    help="time fresh processes (start-up and imports included)")
    ap.add_argument("--one", choices=sorted(RUNNERS), help=argparse.SUPPRESS)  # internal
    ap.add_argument("--dst", type=Path, help=argparse.SUPPRESS)  # internal, with --one
    args = ap.parse_args()
    if args.one:  # one run in this fresh process, for --end-to-end
        RUNNERS[args.one](args.src, args.dst, args.workers)
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"python {platform.python_version()}, Pillow {Image.__version__}, commit {commit}, "
          f"workers {args.workers}, src {args.src}, "
          f"{'end to end (fresh processes)' if args.end_to_end else 'in process'}")
    names = [*RUNNERS, "lesson7 CLI"] if args.end_to_end else list(RUNNERS)
    for name in names:
        seconds, n = [], 0
        for _ in range(args.runs + 1):  # first run warms the page cache
            tmp = Path(tempfile.mkdtemp())
            t0 = time.perf_counter()
            if args.end_to_end:
                subprocess.run(_command(name, args.src, tmp / "out", args.workers), check=True,
                               stdout=subprocess.DEVNULL)
                n = _n_images(args.src)
            else:
                n = RUNNERS[name](args.src, tmp / "out", args.workers)
            seconds.append(time.perf_counter() - t0)
            shutil.rmtree(tmp)
        seconds = seconds[1:]
        rates = [n / t for t in seconds]
        print(f"{name:12s} median {statistics.median(rates):7.1f} img/s "
              f"({min(rates):.1f}-{max(rates):.1f}), median {statistics.median(seconds):5.2f} s "
              f"per run  ({n} images, {args.runs} runs)")


if __name__ == "__main__":
    main()
