"""Demo stage `restore`: the shipped x4 restorer on four real photos, then a short fine-tune.

1. Each packaged photo (`assets/demo_photos`, 256 x 256) is degraded by the project's realistic
   chain (`lesson7.data.sr_pairs.degrade_real`: blur, noise, downscale x4, JPEG, twice) with a
   per-file seed, restored x4 by the shipped model and enlarged by bicubic; both are scored
   against the photo (PSNR-Y and SSIM-Y with 4 px shaved, the SR convention; LPIPS with an
   ImageNet AlexNet when one is available here, else reported unavailable).
2. The lesson's training loop (`Learner.fit_one_cycle` on the frozen encoder, as the lesson's
   first phase) fine-tunes a copy of that model for a degradation it was not trained on —
   plain bicubic x4, the SR benchmarks' degradation (Dong et al. 2014) — on crops of two photos,
   and tracks PSNR-Y on the other two, held out: the metric moves within a minute.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from lesson7.demo.context import StageContext, demo_photos
from lesson7.demo.images import save_png, side_by_side
from lesson7.demo.lesson_figures import NOTEBOOKS
from lesson7.demo.stage_report import StageReport

__all__ = ["stage_restore", "FINE_TUNE_TRAIN", "FINE_TUNE_VALID"]

SCALE, SHAVE = 4, 4
FINE_TUNE_TRAIN = ("chelsea", "rocket")
FINE_TUNE_VALID = ("astronaut", "coffee")


def _score(pred: Image.Image, hr: Image.Image, lpips) -> dict[str, float]:
    from lesson7.data.images import pil_to_tensor
    from lesson7.quality import psnr_y, ssim_y

    p, t = pil_to_tensor(pred)[None], pil_to_tensor(hr)[None]
    out = {"psnr_y": psnr_y(p, t, SHAVE).item(), "ssim_y": ssim_y(p, t, SHAVE).item()}
    if lpips is not None:
        s = SHAVE
        with torch.no_grad():
            out["lpips"] = lpips(p[..., s:-s, s:-s], t[..., s:-s, s:-s]).item()
    return out


def restore_photos(ctx: StageContext, rep: StageReport) -> dict[str, dict[str, dict[str, float]]]:
    """Part 1; returns {photo: {"model": scores, "bicubic": scores}}."""
    from lesson7.data.crappify import file_seed
    from lesson7.data.sr_pairs import degrade_real
    from lesson7.quality.lpips_metric import LPIPS, lpips_unavailable
    from lesson7.restore.restorer import Restorer
    from lesson7.restore.shipped import shipped_model_path

    why = lpips_unavailable()
    lpips = LPIPS("alex") if why is None else None
    if why:
        rep.missing("LPIPS", f"no ImageNet AlexNet weights on this machine ({why})")
    restorer = Restorer.load(shipped_model_path(), device=ctx.device)
    scores, pairs, rows = {}, [], []
    for f in demo_photos():
        name = f.stem
        hr = Image.open(f).convert("RGB")
        lr = degrade_real(hr, SCALE, random.Random(file_seed(ctx.seed, f.name)))
        restored = restorer.restore(lr, tile=256)
        bicubic = lr.resize(hr.size, Image.Resampling.BICUBIC)
        scores[name] = {"model": _score(restored, hr, lpips), "bicubic": _score(bicubic, hr, lpips)}
        for tag, img in (("input", lr), ("bicubic", bicubic), ("restored", restored), ("original", hr)):
            save_png(img, ctx.dir / "photos" / f"{name}_{tag}.png")
        save_png(side_by_side([lr, bicubic, restored, hr],
                              ["degraded input (64 px)", "bicubic x4", "shipped restorer x4",
                               "original"]), ctx.dir / "photos" / f"{name}_row.png")
        s, b = scores[name]["model"], scores[name]["bicubic"]
        pairs.append((f"{name}: bicubic x4 ({b['psnr_y']:.2f} dB) | shipped restorer "
                      f"({s['psnr_y']:.2f} dB)", f"photos/{name}_bicubic.png",
                      f"photos/{name}_restored.png"))
        rows.append((f"{name}: input | bicubic | restored | original", f"photos/{name}_row.png"))
    rep.compare("Restored x4: bicubic (before) vs the shipped restorer (after)", pairs)
    rep.grid("Each photo: degraded input, bicubic, shipped restorer, original", rows)
    return scores


def _mean(scores: dict, side: str, metric: str) -> float:
    return sum(s[side][metric] for s in scores.values()) / len(scores)


# -- part 2: fine-tune ----------------------------------------------------------------------------
def _bicubic_pairs(files: list[Path], crop: int, per_image: int, seed: int) -> tuple[Tensor, Tensor]:
    """`per_image` random crops of each photo (random flips) and their bicubic x4 inputs."""
    from lesson7.data.images import pil_to_tensor

    rng = random.Random(seed)
    xs, ys = [], []
    for f in files:
        img = Image.open(f).convert("RGB")
        for _ in range(per_image):
            x0, y0 = rng.randint(0, img.width - crop), rng.randint(0, img.height - crop)
            hr = img.crop((x0, y0, x0 + crop, y0 + crop))
            if rng.random() < 0.5:
                hr = hr.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            lr = hr.resize((crop // SCALE, crop // SCALE), Image.Resampling.BICUBIC)
            xs.append(pil_to_tensor(lr))
            ys.append(pil_to_tensor(hr))
    return torch.stack(xs), torch.stack(ys)


def held_out_psnr(restorer, files: list[Path]) -> float:
    """Mean PSNR-Y of `restorer` on whole held-out photos degraded by bicubic x4."""
    from lesson7.data.images import pil_to_tensor
    from lesson7.quality import psnr_y

    vals = []
    for f in files:
        hr = Image.open(f).convert("RGB")
        lr = hr.resize((hr.width // SCALE, hr.height // SCALE), Image.Resampling.BICUBIC)
        was_training = restorer.model.training
        restorer.model.eval()
        with torch.no_grad():
            out = pil_to_tensor(restorer.restore(lr, tile=256))
        restorer.model.train(was_training)
        vals.append(psnr_y(out[None], pil_to_tensor(hr)[None], SHAVE).item())
    return sum(vals) / len(vals)


def fine_tune(ctx: StageContext, rep: StageReport) -> dict[str, float]:
    """Part 2; returns {"before", "after", "bicubic"} held-out PSNR-Y."""
    from lesson7.data.images import pil_to_tensor
    from lesson7.data.tensor_batches import TensorBatches
    from lesson7.losses import L1LossFlat
    from lesson7.models.sr_unet import sr_unet_splitter
    from lesson7.quality import psnr_y
    from lesson7.restore.restorer import Restorer
    from lesson7.restore.shipped import shipped_model_path
    from lesson7.train import Callback, Learner
    from lesson7.train.seed import seed_everything

    photos = {f.stem: f for f in demo_photos()}
    train_files = [photos[n] for n in FINE_TUNE_TRAIN]
    valid_files = [photos[n] for n in FINE_TUNE_VALID]
    epochs, per_image, crop, bs = (1, 8, 96, 8) if ctx.quick else (2, 32, 128, 8)
    seed_everything(ctx.seed)
    restorer = Restorer.load(shipped_model_path(), device=ctx.device)
    restorer.model.float()  # the shipped weights are fp16 on disk; train in fp32
    mean = torch.tensor(restorer.cfg.mean).view(1, 3, 1, 1)
    std = torch.tensor(restorer.cfg.std).view(1, 3, 1, 1)
    x, y = _bicubic_pairs(train_files, crop, per_image, ctx.seed)
    vx, vy = _bicubic_pairs(valid_files, crop, 4, ctx.seed + 1)

    class Pairs:
        train_dl = TensorBatches((x - mean) / std, (y - mean) / std, bs=bs, seed=ctx.seed)
        valid_dl = TensorBatches((vx - mean) / std, (vy - mean) / std, bs=bs, seed=ctx.seed,
                                 shuffle=False)

    curve = {"epoch": [0], "psnr": [held_out_psnr(restorer, valid_files)]}

    class HeldOutPSNR(Callback):
        order = 90

        def after_epoch(self, learn) -> None:
            curve["epoch"].append(learn.epoch + 1)
            curve["psnr"].append(held_out_psnr(restorer, valid_files))
            ctx.progress.note(f"epoch {learn.epoch + 1}: held-out PSNR-Y {curve['psnr'][-1]:.2f} dB")

    learn = Learner(restorer.model, Pairs(), L1LossFlat(), splitter=sr_unet_splitter, wd=1e-3,
                    path=ctx.dir / "fine_tune", device=ctx.device, mixed_precision=False)
    learn.freeze()  # the lesson's first phase: the pretrained encoder stays as it is
    learn.fit_one_cycle(epochs, slice(1e-3), pct_start=0.5, cbs=[HeldOutPSNR()])
    bicubic = sum(psnr_y(pil_to_tensor(
        Image.open(f).convert("RGB").resize((64, 64), Image.Resampling.BICUBIC)
        .resize((256, 256), Image.Resampling.BICUBIC))[None],
        pil_to_tensor(Image.open(f).convert("RGB"))[None], SHAVE).item() for f in valid_files) / 2
    hist = learn.recorder.history
    rep.curve("fine-tune loss (L1)", "epoch", [h["epoch"] + 1 for h in hist],
              {"train": [h["train_loss"] for h in hist], "valid": [h["valid_loss"] for h in hist]})
    rep.curve("fine-tune: held-out PSNR-Y (dB)", "epoch", curve["epoch"],
              {"fine-tuned model": curve["psnr"], "bicubic": [bicubic] * len(curve["epoch"])})
    return {"before": curve["psnr"][0], "after": curve["psnr"][-1], "bicubic": bicubic,
            "epochs": epochs, "crops": len(x), "crop": crop}


def stage_restore(ctx: StageContext) -> StageReport:
    rep = StageReport(
        title="Restoring photos: the shipped x4 restorer", lesson=NOTEBOOKS["restore"],
        command="lesson7 restore predict PHOTOS --out DIR   (then: lesson7 restore train ...)",
        summary="The lesson's Dynamic U-Net (on an ImageNet EfficientNet-Lite0 encoder, trained "
                "with the lesson's feature loss) that ships with lesson7 restores four real photos "
                "shrunk 4x with blur, noise and JPEG: it puts back texture, which LPIPS rewards "
                "and PSNR does not; then the lesson's training loop fine-tunes it for a new "
                "degradation.")
    with ctx.progress.step("degrading 4 photos (seeded) and restoring them x4"):
        scores = restore_photos(ctx, rep)
    names = ", ".join(scores)
    for metric, label, unit in (("psnr_y", "PSNR-Y", "dB"), ("ssim_y", "SSIM-Y", ""),
                                ("lpips", "LPIPS (lower is better)", "")):
        if metric not in next(iter(scores.values()))["model"]:
            continue
        for side, who in (("model", "shipped restorer"), ("bicubic", "bicubic")):
            first = not rep.figures
            rep.figure(f"{label}, {who}", _mean(scores, side, metric), None, unit,
                       note=f"mean over {len(scores)} photos ({names}), realistic degradation x4"
                            + ("; the lesson's notebooks record feature losses, not PSNR/SSIM"
                               if first else ""))
    rep.text("Per photo (shipped restorer vs bicubic)", [
        f"{n:<10} PSNR-Y {s['model']['psnr_y']:.2f} vs {s['bicubic']['psnr_y']:.2f} dB, "
        f"SSIM-Y {s['model']['ssim_y']:.4f} vs {s['bicubic']['ssim_y']:.4f}"
        + (f", LPIPS {s['model']['lpips']:.3f} vs {s['bicubic']['lpips']:.3f}" if "lpips" in s["model"]
           else "") for n, s in scores.items()])
    with ctx.progress.step("fine-tuning it for bicubic x4 with the lesson's training loop"):
        ft = fine_tune(ctx, rep)
    rep.figure("fine-tune: held-out PSNR-Y before", ft["before"], None, "dB",
               note=f"{', '.join(FINE_TUNE_VALID)} enlarged x4 after a plain bicubic x4 "
                    f"reduction; bicubic enlargement scores {ft['bicubic']:.2f} dB")
    rep.figure("fine-tune: held-out PSNR-Y after", ft["after"], None, "dB",
               note=f"{ft['epochs']} epoch(s), frozen encoder, {ft['crops']} crops of "
                    f"{ft['crop']} px from {', '.join(FINE_TUNE_TRAIN)} (never scored)")
    return rep
