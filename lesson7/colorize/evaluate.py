"""Score a colorizer on held-out colour photos against their grey versions.

For each photo (reduced so its long side is at most `max_side`, Lanczos): the grey input
(`grey` degradation), the colorizer's output (as a saved PNG would hold it: 8 bits), and the
photo itself. Both the output and the grey baseline are scored against the photo with PSNR on
RGB, SSIM on RGB (averaged over the channels: SSIM on Y would not move, the luminance being the
photo's own) and LPIPS (AlexNet, lower is better). Extra metrics plug in without changing this
file's loop: `image_metrics` {name: fn(pred, photo) -> float} per photo (e.g. colourfulness),
`set_metrics` {name: fn(preds, photos) -> float} over the whole set (e.g. an FID-style
distance); each is reported for the outputs and for the grey baseline.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lesson7.data.crappify import GreyCrappifier
from lesson7.data.images import open_pil_image, pil_to_tensor
from lesson7.quality import LPIPS, psnr, ssim

__all__ = ["held_out_photo", "evaluate_colorizer", "evaluate_colorize_cfg", "METRICS"]

METRICS = ("psnr", "ssim", "lpips")
ImageMetric = Callable[[Tensor, Tensor], float]
SetMetric = Callable[[list[Tensor], list[Tensor]], float]


def held_out_photo(path: Path, max_side: int | None) -> Image.Image:
    """The photo upright in RGB, long side reduced to `max_side` (None or 0: as it is)."""
    img = open_pil_image(path, "RGB")
    if max_side and max(img.size) > max_side:
        k = max_side / max(img.size)
        img = img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))),
                         Image.Resampling.LANCZOS)
    return img


def _scores(pred: Tensor, photo: Tensor, lpips: LPIPS | None,
            image_metrics: dict[str, ImageMetric]) -> dict[str, float | None]:
    p, t = pred[None], photo[None]
    out: dict[str, float | None] = {
        "psnr": psnr(p, t).item(), "ssim": ssim(p, t).item(),
        "lpips": lpips(p, t).item() if lpips is not None else None}
    out.update({name: float(fn(pred, photo)) for name, fn in image_metrics.items()})
    return out


def _mean(rows: list[dict[str, Any]], side: str, name: str) -> float | None:
    values = [r[side][name] for r in rows]
    return None if values[0] is None else float(np.mean(values))


def evaluate_colorizer(colorizer: Any, files: Sequence[Path], root: Path | None = None,
                       render_size: int | None = None, max_side: int | None = 512,
                       lpips: LPIPS | None = None,
                       image_metrics: dict[str, ImageMetric] | None = None,
                       set_metrics: dict[str, SetMetric] | None = None,
                       progress: bool = False) -> dict[str, Any]:
    """{"model": {metric: mean}, "baseline": {...} (the grey input), "n_images", "per_image"}.

    `colorizer` is a `Colorizer` (its `colorize(img, render_size)` is called); `lpips=None`
    reports LPIPS as null.
    """
    from tqdm.auto import tqdm

    if not files:
        raise ValueError("no held-out photos to score")
    image_metrics, set_metrics = image_metrics or {}, set_metrics or {}
    grey_of = GreyCrappifier()
    rows, preds, greys, photos = [], [], [], []
    for path in tqdm(files, desc="colorize eval", disable=not progress):
        photo_img = held_out_photo(Path(path), max_side)
        grey_img = grey_of(photo_img, None)
        with torch.no_grad():
            out_img = colorizer.colorize(grey_img, render_size)
        photo, grey, pred = (pil_to_tensor(im) for im in (photo_img, grey_img, out_img))
        rel = Path(path).relative_to(root) if root is not None else Path(path).name
        rows.append({"image": str(rel), "model": _scores(pred, photo, lpips, image_metrics),
                     "baseline": _scores(grey, photo, lpips, image_metrics)})
        if set_metrics:
            preds.append(pred)
            greys.append(grey)
            photos.append(photo)
    names = [*METRICS, *image_metrics]
    result: dict[str, Any] = {side: {m: _mean(rows, side, m) for m in names}
                              for side in ("model", "baseline")}
    for name, fn in set_metrics.items():
        result["model"][name] = float(fn(preds, photos))
        result["baseline"][name] = float(fn(greys, photos))
    render = render_size or colorizer.cfg.render_size
    return {**result, "n_images": len(rows), "render_size": render, "max_side": max_side,
            "metric_notes": "psnr, ssim: RGB against the colour photo (ssim averaged over R, G, "
                            "B); lpips: AlexNet (lower is better); baseline: the grey input",
            "per_image": rows}


def evaluate_colorize_cfg(cfg: Any) -> dict[str, Any]:
    """`lesson7 colorize eval`: score cfg.model on the photos of cfg.hr; writes metrics.json."""
    from lesson7.colorize.colorizer import Colorizer, resolve_colorizer
    from lesson7.data.items import get_image_files
    from lesson7.files import atomic_write_json
    from lesson7.train.learner import pick_device

    ckpt = resolve_colorizer(cfg.model)
    colorizer = Colorizer.load(ckpt, pick_device(cfg.device))
    lpips = _lpips_or_explain(cfg.lpips_weights) if cfg.lpips else None
    sets = {}
    for hr in cfg.hr:
        files = get_image_files(hr)
        sets[hr.name] = evaluate_colorizer(colorizer, files, hr, cfg.render_size, cfg.max_side,
                                           lpips, progress=sys.stderr.isatty())
    result = {"checkpoint": str(ckpt), "sets": sets}
    out = cfg.out if cfg.out is not None else ckpt.parent / f"eval_{cfg.hr[0].name}"
    atomic_write_json(Path(out) / "metrics.json", result)
    return result


def _lpips_or_explain(weights: Path | None) -> LPIPS:
    from lesson7.models.encoders import PretrainedWeightsUnavailable

    try:
        return LPIPS("alex", weights)
    except PretrainedWeightsUnavailable as e:
        raise ValueError(f"{e} To score without LPIPS (reported as null), add --no-lpips.") from None
