"""Demo stage `colorize`: the shipped colorizer on greyscale versions of the four photos.

DeOldify's task, built from the lesson's pieces (U-Net, feature loss, NoGAN). The grey inputs are
DeOldify's `convert('LA').convert('RGB')`; the colourings are scored against the true colours
(PSNR and SSIM on RGB) and by colourfulness (Hasler & Süsstrunk 2003: grey scores 0, natural
photos typically 30-60). Without a shipped colorizer the stage still shows the grey inputs and
reports the colourings as unavailable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lesson7.demo.context import StageContext, demo_photos
from lesson7.demo.images import save_png
from lesson7.demo.lesson_figures import NOTEBOOKS
from lesson7.demo.stage_report import StageReport

__all__ = ["stage_colorize", "colourfulness", "find_shipped_colorizer"]

NO_COLORIZER = "no shipped colorizer installed"


def colourfulness(img: Image.Image) -> float:
    """Hasler & Süsstrunk (2003) colourfulness of an RGB image on 0-255 values."""
    a = np.asarray(img.convert("RGB"), dtype=np.float64)
    rg = a[..., 0] - a[..., 1]
    yb = (a[..., 0] + a[..., 1]) / 2 - a[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def find_shipped_colorizer() -> tuple[Path | None, str | None]:
    """(path of the shipped colorizer, None) or (None, why there is none)."""
    try:
        from lesson7.colorize.shipped import shipped_colorizer_path  # type: ignore[import-not-found]
    except ImportError:
        return None, f"{NO_COLORIZER} (this lesson7 has no lesson7.colorize.shipped)"
    try:
        return shipped_colorizer_path(), None
    except ValueError as e:
        return None, f"{NO_COLORIZER} ({e})"


def _score(pred: Image.Image, truth: Image.Image) -> dict[str, float]:
    from lesson7.data.images import pil_to_tensor
    from lesson7.quality import psnr, ssim

    p, t = pil_to_tensor(pred.convert("RGB"))[None], pil_to_tensor(truth)[None]
    return {"psnr": psnr(p, t).item(), "ssim": ssim(p, t).item(),
            "colourfulness": colourfulness(pred)}


def stage_colorize(ctx: StageContext) -> StageReport:
    rep = StageReport(
        title="Colorizing photos: the shipped colorizer", lesson=NOTEBOOKS["colorize"],
        command="lesson7 colorize predict PHOTOS --out DIR",
        summary="DeOldify's idea from the lesson's pieces: a U-Net predicts the colours of a "
                "greyscale photo. Here: greyscale versions of the four photos, coloured by the "
                "model that ships with lesson7.")
    path, why = find_shipped_colorizer()
    colorizer = None
    if path is not None:
        from lesson7.colorize.colorizer import Colorizer

        colorizer = Colorizer.load(path, device=ctx.device)
    else:
        rep.missing("colorized photos, PSNR, SSIM, colourfulness", why)
        ctx.progress.note(f"unavailable: {why}; showing the grey inputs")
    scores, pairs, greys = {}, [], []
    with ctx.progress.step("greyscale versions of the 4 photos"
                           + (" and their colourings" if colorizer else "")):
        for f in demo_photos():
            name = f.stem
            truth = Image.open(f).convert("RGB")
            grey = truth.convert("LA").convert("RGB")  # DeOldify's grey input
            save_png(grey, ctx.dir / "photos" / f"{name}_grey.png")
            save_png(truth, ctx.dir / "photos" / f"{name}_original.png")
            greys.append((f"{name}: greyscale input", f"photos/{name}_grey.png"))
            scores[name] = {"grey": _score(grey, truth), "original": colourfulness(truth)}
            if colorizer is not None:
                out = colorizer.colorize(grey)
                save_png(out, ctx.dir / "photos" / f"{name}_colorized.png")
                scores[name]["model"] = _score(out, truth)
                pairs.append((f"{name}: greyscale input vs colorized", f"photos/{name}_grey.png",
                              f"photos/{name}_colorized.png"))
    n = len(scores)
    mean = lambda side, k: sum(s[side][k] for s in scores.values()) / n  # noqa: E731
    if colorizer is not None:
        rep.compare("Colorized: greyscale input (before) vs the shipped colorizer (after)", pairs)
        rep.figure("PSNR vs the true colours, colorizer", mean("model", "psnr"), None, "dB",
                   note=f"mean over {n} photos (RGB)")
        rep.figure("SSIM vs the true colours, colorizer", mean("model", "ssim"), None,
                   note=f"mean over {n} photos (RGB)")
        rep.figure("colourfulness, colorizer", mean("model", "colourfulness"), None,
                   note="Hasler & Süsstrunk 2003; grey scores 0")
    rep.grid("Greyscale inputs", greys)
    rep.grid("Originals (the true colours)",
             [(f"{name}: original", f"photos/{name}_original.png") for name in scores])
    rep.figure("PSNR vs the true colours, grey input", mean("grey", "psnr"), None, "dB",
               note="the baseline a colorizer must beat")
    rep.figure("colourfulness, originals", sum(s["original"] for s in scores.values()) / n, None,
               note="natural photos typically score 30-60")
    return rep
