"""Evaluate a restoration model against the degraded-input baseline on a folder of HR images.

For each HR image a degraded input is made in memory (deterministic from `seed` and the
file's relative path), the model restores it, and both the restoration and the baseline (the
degraded input, bicubic-upsampled to the HR size) are scored against the HR image with the
same metrics: PSNR on RGB, PSNR on Y, SSIM on Y (the SR literature's SSIM), LPIPS (AlexNet).
Images are quantised to 8 bits before scoring, as saved files would be.

Tracks:
- `bicubic-x2/x3/x4`: modcrop, bicubic down and up (`pairs.bicubic_degrade`); `scale` border
  pixels are shaved before every metric (the SR convention: Kim et al. 2016 (VDSR), Lim et al.
  2017 (EDSR) evaluate with a `scale`-pixel border removed).
- `lesson`, `superres`, `real`: the crappifiers; the HR image is first resized so its short
  side is `eval_size` (the training size: the model learnt to restore at that resolution) and
  the crappified image is bicubic-upsampled to it; nothing is shaved.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lesson7.configs.restore import EvalConfig
from lesson7.data.crappify import as_stored, file_seed, make_crappifier
from lesson7.data.degradations import DEGRADATIONS
from lesson7.data.images import open_pil_image, resize_to_cover
from lesson7.data.pairs import DEGRADE_SCALES, bicubic_degrade
from lesson7.quality import LPIPS, psnr, psnr_y, ssim_y
from lesson7.restore.restorer import pil_to_tensor

__all__ = ["DEGRADES", "degrade_for_eval", "evaluate", "evaluate_restorer"]

DEGRADES = tuple(DEGRADATIONS)
METRICS = ("psnr", "psnr_y", "ssim", "lpips")


def degrade_for_eval(hr: Image.Image, degrade: str, seed: int, rel: str | Path,
                     eval_size: int | None = None) -> tuple[Image.Image, Image.Image, int]:
    """(hr, model_input, shave): the reference image, its degraded version at the same size,
    and the border to shave before scoring."""
    if degrade in DEGRADE_SCALES:
        scale = DEGRADE_SCALES[degrade]
        hr, _, up = bicubic_degrade(hr, scale)
        return hr, up, scale
    if degrade not in DEGRADES:
        raise ValueError(f"unknown --degrade {degrade!r}; choose from {list(DEGRADES)}")
    rng = random.Random(file_seed(seed, rel))
    lr = as_stored(make_crappifier(degrade)(hr.copy(), rng))  # what the file on disk would hold
    if eval_size is not None:
        hr = resize_to_cover(hr, eval_size)  # short side -> eval_size, as the training data
    return hr, lr.resize(hr.size, Image.Resampling.BICUBIC), 0


def _quantise(x: Tensor) -> Tensor:
    return (x.clamp(0, 1) * 255).round() / 255


def _scores(pred: Tensor, hr: Tensor, shave: int, lpips: LPIPS | None) -> dict[str, float | None]:
    p, t = pred[None], hr[None]
    if shave:
        p, t = p[..., shave:-shave, shave:-shave], t[..., shave:-shave, shave:-shave]
    return {"psnr": psnr(p, t).item(), "psnr_y": psnr_y(p, t).item(),
            "ssim": ssim_y(p, t).item(), "lpips": lpips(p, t).item() if lpips is not None else None}


def evaluate(restore: Callable[[Tensor], Tensor], hr_paths: Sequence[Path], degrade: str,
             seed: int = 0, eval_size: int | None = None, root: Path | None = None,
             lpips: LPIPS | None | bool = None, progress: bool = False) -> dict[str, Any]:
    """Score `restore` ((C, H, W) degraded input in [0, 1] -> restored image) on `hr_paths`.

    Returns {"model": {metric: mean}, "baseline": {...}, "n_images", "degrade", "per_image"}.
    `lpips=False` skips LPIPS (reported as None), for machines without an ImageNet trunk.
    """
    if not hr_paths:
        raise ValueError("no HR images to evaluate")
    lpips = None if lpips is False else (lpips if lpips is not None else LPIPS("alex"))
    rows = []
    from tqdm.auto import tqdm

    for path in tqdm(hr_paths, desc="eval", disable=not progress):
        rel = Path(path).relative_to(root) if root is not None else Path(path).name
        hr_img, inp_img, shave = degrade_for_eval(open_pil_image(path, "RGB"), degrade, seed,
                                                  rel, eval_size)
        hr, inp = pil_to_tensor(hr_img), pil_to_tensor(inp_img)
        with torch.no_grad():
            out = _quantise(restore(inp).float().cpu())
        if out.shape != hr.shape:
            raise ValueError(f"model output {tuple(out.shape)} != HR {tuple(hr.shape)} for {rel}")
        rows.append({"image": str(rel), "model": _scores(out, hr, shave, lpips),
                     "baseline": _scores(inp, hr, shave, lpips)})
    mean = {side: {m: (float(np.mean([r[side][m] for r in rows]))
                       if rows[0][side][m] is not None else None) for m in METRICS}
            for side in ("model", "baseline")}
    return {**mean, "n_images": len(rows), "degrade": degrade, "seed": seed,
            "eval_size": eval_size, "shave": degrade_shave(degrade),
            "metric_notes": "psnr: RGB; psnr_y/ssim: BT.601 Y; lpips: AlexNet (lower is better)",
            "per_image": rows}


def degrade_shave(degrade: str) -> int:
    """Border pixels shaved before scoring for this track."""
    return DEGRADE_SCALES.get(degrade, 0)


def evaluate_restorer(cfg: EvalConfig) -> dict[str, Any]:
    """`lesson7 restore eval`: score the model of cfg.checkpoint and its degraded input on
    cfg.hr; writes metrics.json into cfg.out (default RUN/eval_<hr folder>_<degrade>)."""
    from lesson7.data.items import get_image_files
    from lesson7.files import atomic_write_json
    from lesson7.restore.restorer import Restorer, resolve_checkpoint
    from lesson7.train.checkpoint import read_metadata
    from lesson7.train.learner import pick_device

    ckpt = resolve_checkpoint(cfg.checkpoint)
    meta = read_metadata(ckpt)
    restorer = Restorer.load(ckpt, pick_device(cfg.device))
    degrade = cfg.degrade or meta.get("degrade")
    if degrade is None:
        raise ValueError("--degrade is needed: the model was trained on given --lowres pairs")
    eval_size = cfg.eval_size
    if eval_size is None and degrade not in DEGRADE_SCALES:
        eval_size = meta.get("train_size")
    files = get_image_files(cfg.hr)
    if not files:
        raise ValueError(f"--hr {cfg.hr} holds no images")

    def restore_fn(x: Tensor) -> Tensor:
        return restorer.restore_tensor(x, cfg.tile, cfg.overlap)

    lpips = _lpips_or_explain(cfg) if cfg.lpips else False
    result = evaluate(restore_fn, files, degrade, seed=cfg.seed, eval_size=eval_size,
                      root=cfg.hr, lpips=lpips, progress=sys.stderr.isatty())
    result["checkpoint"] = str(ckpt)
    result["hr"] = str(cfg.hr)
    out = cfg.out if cfg.out is not None else ckpt.parent / f"eval_{cfg.hr.name}_{degrade}"
    atomic_write_json(Path(out) / "metrics.json", result)
    return result


def _lpips_or_explain(cfg: EvalConfig) -> LPIPS:
    """The LPIPS metric; without its ImageNet trunk, a ValueError (one line from the CLI, exit 2)
    that names the missing file and says how to score without it."""
    from lesson7.models.encoders import PretrainedWeightsUnavailable

    try:
        return LPIPS(cfg.lpips_net, cfg.lpips_weights)
    except PretrainedWeightsUnavailable as e:
        raise ValueError(f"{e} To score without LPIPS (reported as null), add --no-lpips.") from None
