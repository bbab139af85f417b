"""Question: how fast is `crappify_folder` against a straightforward PIL version of the lesson's
crappifier, at the same number of worker processes?

Baseline = course-v3 `nbs/dl1/crappify.py`: open, resize short side to 96 (bilinear), draw the
quality as text, save as JPEG q, run through a ProcessPoolExecutor (fastai's `parallel`).
Ours adds draft-mode JPEG decoding (DCT scaling), atomic writes, error collection.

    python benchmarks/crappify.py --src ../shared/datasets/oxford_pets_sample --workers 2 --runs 3
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from lesson7.data.crappify import LessonCrappifier, crappify_folder


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
    r = crappify_folder(src, dst, LessonCrappifier(), workers=workers, seed=0, progress=False)
    assert r.ok, r.summary()
    return len(r.written)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / ".." /
                    "shared" / "datasets" / "oxford_pets_sample")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"python {platform.python_version()}, Pillow {Image.__version__}, commit {commit}, "
          f"workers {args.workers}, src {args.src}")
    for name, fn in (("plain PIL", plain), ("lesson7", ours)):
        rates = []
        for _ in range(args.runs + 1):  # first run warms the page cache
            tmp = Path(tempfile.mkdtemp())
            t0 = time.perf_counter()
            n = fn(args.src, tmp / "out", args.workers)
            rates.append(n / (time.perf_counter() - t0))
            shutil.rmtree(tmp)
        rates = rates[1:]
        sd = statistics.stdev(rates) if len(rates) > 1 else 0.0
        print(f"{name:10s} {statistics.mean(rates):7.1f} ± {sd:5.1f} img/s  ({n} images, "
              f"{args.runs} runs)")


if __name__ == "__main__":
    main()
