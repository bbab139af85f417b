"""`predict_images(cfg)`: restore image files of any size with a trained model.

Tiled with blended overlaps (`lesson7.restore.tiles`), EXIF orientation respected. Each output
is `OUT/<stem>.png`, written atomically; an output that would overwrite an input is refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lesson7.configs.restore import PredictConfig
from lesson7.data.images import open_pil_image
from lesson7.data.items import get_image_files
from lesson7.files import atomic_path
from lesson7.restore.restorer import Restorer

__all__ = ["predict_images", "input_files"]


def input_files(paths: list[Path]) -> list[Path]:
    """Image files named directly or found (recursively) in the given folders."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += get_image_files(p)
        elif p.is_file():
            files.append(p)
        else:
            raise ValueError(f"input {p} does not exist")
    return files


def predict_images(cfg: PredictConfig) -> list[tuple[Path, str]]:
    """Restore every input into cfg.out; returns the (file, reason) pairs that failed."""
    from lesson7.train.learner import pick_device

    restorer = Restorer.load(cfg.checkpoint, pick_device(cfg.device))
    files = input_files(cfg.images)
    if not files:
        raise ValueError(f"no images found in {', '.join(map(str, cfg.images))}")
    inputs = {f.resolve() for f in files}
    failures = []
    for f in files:
        dest = cfg.out / f"{f.stem}.png"
        if dest.resolve() in inputs:
            raise ValueError(f"--out {cfg.out} would overwrite the input {f}")
        try:
            img = open_pil_image(f, "L" if restorer.cfg.in_channels == 1 else "RGB")  # EXIF upright
            out = restorer.restore(img, cfg.scale, cfg.tile, cfg.overlap)
        except ValueError as e:
            failures.append((f, str(e)))
            continue
        with atomic_path(dest) as tmp:
            out.save(tmp, "PNG")
        print(f"{f} -> {dest} ({out.size[0]}x{out.size[1]})")
    for f, why in failures:
        print(f"FAILED {f}: {why}", file=sys.stderr)
    return failures
