"""`colorize_images(cfg)`: colour grey photos of any size into PNGs (`lesson7 colorize`).

Which photos, how outputs are named and what is refused are `lesson7 restore predict`'s rules,
reused from `lesson7.restore.predict` (`plan_outputs`: never into an input folder, never over an
input, clashes refused before anything runs), its PNG writer (atomic, streamed by rows) and its
loop over the files (`lesson7.restore.predict_loop`: outputs already there skipped, failures
recorded and the rest still done).
Photos that already have colour are found by `colour_spread` and skipped with a message, or,
with --force, made grey first (their colour is replaced, not kept).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lesson7.configs.colorize import ColorizeConfig
from lesson7.data.images import open_pil_image
from lesson7.restore.png_writer import write_png
from lesson7.restore.predict import plan_outputs, stored_size
from lesson7.restore.predict_loop import Declined, predict_each

__all__ = ["COLOUR_SPREAD", "colour_spread", "has_colour", "colorize_images", "colorize_file",
           "AlreadyColour"]

COLOUR_SPREAD = 3.0
"""A photo whose chroma varies more than this (RMS, in 8-bit levels) beyond what its
luminance explains has colour. Grey photos, even as RGB JPEGs, stay under 1; toned
monochrome (sepia, cyanotype: chroma a function of luminance) stays low; colour photos score
10-30 (BSDS500 photos all above 5)."""


class AlreadyColour(Declined):
    """The photo has colour and --force was not given (reported, not counted as a failure)."""


def colour_spread(img: Image.Image, thumb: int = 256) -> float:
    """RMS chroma (Cb, Cr, 8-bit levels) left after the best linear fit on the luminance Y, on
    a thumbnail: 0 for grey, small for a photo toned in one colour, large for colour."""
    if img.mode in ("1", "L", "LA", "I", "I;16", "F"):
        return 0.0
    small = img.convert("RGB")
    small.thumbnail((thumb, thumb))
    ycc = np.asarray(small.convert("YCbCr"), dtype=np.float64).reshape(-1, 3)
    basis = np.stack([np.ones(len(ycc)), ycc[:, 0]], axis=1)              # (n, 2): 1, Y
    coef, *_ = np.linalg.lstsq(basis, ycc[:, 1:], rcond=None)             # (2, 2)
    resid = ycc[:, 1:] - basis @ coef                                     # (n, 2)
    return float(np.sqrt(np.mean(resid ** 2)))


def has_colour(img: Image.Image) -> bool:
    return colour_spread(img) > COLOUR_SPREAD


def colorize_file(colorizer, src: Path, dest: Path, cfg: ColorizeConfig) -> tuple[int, int]:
    """Colour `src` into the PNG `dest` (atomically); returns its (width, height).

    Raises `AlreadyColour` for a colour photo without --force, ValueError for one above
    --max-megapixels (checked from the header, before decoding)."""
    stored = stored_size(src)
    if stored is not None:
        _check_size(stored, cfg)
    img = open_pil_image(src, "RGB")                # upright (EXIF)
    _check_size(img.size, cfg)
    if not cfg.force:
        spread = colour_spread(img)
        if spread > COLOUR_SPREAD:
            raise AlreadyColour(f"already has colour (chroma spread {spread:.1f} > "
                                f"{COLOUR_SPREAD:g}); --force makes it grey and colours it again")
    write_png(dest, img.size, colorizer.colorize_rows(img, cfg.render_size))
    return img.size


def _check_size(size: tuple[int, int], cfg: ColorizeConfig) -> None:
    w, h = size
    if w * h > cfg.max_megapixels * 1e6:
        raise ValueError(f"its {w}x{h} px ({w * h / 1e6:.1f} megapixels) is above "
                         f"--max-megapixels {cfg.max_megapixels:g}; raise it to colour this photo")


def colorize_images(cfg: ColorizeConfig) -> list[tuple[Path, str]]:
    """Colour every photo under cfg.paths into cfg.out; returns the (file, reason) failures."""
    from lesson7.colorize.colorizer import Colorizer
    from lesson7.colorize.shipped import shipped_colorizer_path
    from lesson7.train.learner import pick_device

    plan = plan_outputs(cfg.paths, cfg.out)        # every refusal before the model loads
    colorizer = Colorizer.load(cfg.model or shipped_colorizer_path(), pick_device(cfg.device))
    counts = predict_each(plan, lambda src, dest: colorize_file(colorizer, src, dest, cfg),
                          desc="colorize", overwrite=cfg.overwrite,
                          out_of_memory="out of memory; try a smaller --render-size")
    print(f"{counts.done} colorized, {counts.skipped} skipped (already there), {counts.declined} "
          f"skipped (already colour; --force colours them), {len(counts.failures)} failed")
    counts.print_failures()
    return counts.failures
