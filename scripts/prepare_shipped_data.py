"""Make the training photos of the shipped restorer from the staged data sets (offline).

    python scripts/prepare_shipped_data.py --shared ../shared --out data/shipped

- `OUT/bsd200/`: the 200 BSDS500 training photos (BSD200), copied as they are.
- `OUT/pets_train/`: the Oxford-IIIT Pet sample minus its validation split (a seeded 10 % of the
  sorted file list, seed 42 — the split `benchmarks/shipped_restorer.py` scores on), upright,
  short side reduced to at most 288 px (Lanczos) and saved as JPEG q95; photos whose short side
  is under 192 px are left out (they would need enlarging).
Set5 and BSD100 (BSDS500 `val`) are never used for training.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from PIL import Image

from lesson7.data.images import open_pil_image
from lesson7.data.items import get_image_files
from lesson7.data.splits import split_by_rand_pct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared")
    ap.add_argument("--out", type=Path, default=Path("data/shipped"))
    args = ap.parse_args()
    datasets = args.shared / "datasets"
    bsd = args.out / "bsd200"
    bsd.mkdir(parents=True, exist_ok=True)
    for f in get_image_files(datasets / "bsds500" / "train"):
        shutil.copy2(f, bsd / f.name)
    root = datasets / "oxford_pets_sample"
    files = get_image_files(root)
    train_idx, valid_idx = split_by_rand_pct(len(files), 0.1, seed=42)
    kept = 0
    for i in train_idx:
        f = files[i]
        im = open_pil_image(f, "RGB")
        short = min(im.size)
        if short < 192:
            continue
        if short > 288:
            k = 288 / short
            im = im.resize((round(im.width * k), round(im.height * k)), Image.Resampling.LANCZOS)
        out = (args.out / "pets_train" / f.relative_to(root)).with_suffix(".jpg")
        out.parent.mkdir(parents=True, exist_ok=True)
        im.save(out, "JPEG", quality=95)
        kept += 1
    print(f"{len(get_image_files(bsd))} BSD200 photos, {kept} pets training photos "
          f"({len(valid_idx)} held out) in {args.out}")


if __name__ == "__main__":
    main()
