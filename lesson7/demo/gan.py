"""Demo stage `gan`: the lesson's NoGAN chain at demo scale, before/after columns.

`lesson7-superres-gan.ipynb`'s five steps (`lesson7.nogan.chain.run_nogan`) on generated toy
scenes at x4 (bicubic): pretrain the generator with MSE, save its predictions, pretrain a critic
on them vs the real images, a short GAN fine-tune, then both generators scored on held-out
scenes. LPIPS needs an ImageNet AlexNet: without one it is reported unavailable and the stage
runs on. Columns: input | generator before the GAN | after the GAN | target.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from lesson7.demo.context import StageContext
from lesson7.demo.images import save_png, side_by_side
from lesson7.demo.lesson_figures import NOGAN_CRITIC_ACCURACY, NOTEBOOKS
from lesson7.demo.stage_report import StageReport

__all__ = ["stage_gan"]

N_COLUMNS_SHOWN = 4


def _toy_scenes(root: Path, seed: int, quick: bool) -> tuple[Path, Path]:
    from lesson7.data.synthetic import make_toy_scenes

    return (make_toy_scenes(root / "scenes" / "train", n=64, size=48, seed=seed),
            make_toy_scenes(root / "scenes" / "test", n=8, size=48, seed=seed + 1))


def before_after_columns(ctx: StageContext, gen_run: Path, gan_run: Path, test_dir: Path
                         ) -> list[tuple[str, str, str, str]]:
    """Rows of (scene, column image, before, after) saved under ctx.dir/columns."""
    from lesson7.data.pairs import BicubicDegrader
    from lesson7.restore.restorer import Restorer

    before, after = (Restorer.load(r, device=ctx.device) for r in (gen_run, gan_run))
    degrade = BicubicDegrader(4)
    rows = []
    for f in sorted(test_dir.glob("*.png"))[:N_COLUMNS_SHOWN]:
        hr = Image.open(f).convert("RGB")
        lr = degrade(hr)                       # down and back up: the model's input
        b, a = before.restore(lr, scale=1), after.restore(lr, scale=1)
        d = ctx.dir / "columns"
        for tag, img in (("input", lr), ("before_gan", b), ("after_gan", a), ("target", hr)):
            save_png(img, d / f"{f.stem}_{tag}.png")
        save_png(side_by_side([lr, b, a, hr], ["input", "before GAN", "after GAN", "target"],
                              height=144), d / f"{f.stem}_columns.png")
        rows.append((f.stem, f"columns/{f.stem}_columns.png", f"columns/{f.stem}_before_gan.png",
                     f"columns/{f.stem}_after_gan.png"))
    return rows


def stage_gan(ctx: StageContext) -> StageReport:
    from lesson7.configs.nogan import NoGANConfig
    from lesson7.nogan.chain import run_nogan

    rep = StageReport(
        title="NoGAN: pretrain the generator and the critic, then a short GAN",
        lesson=NOTEBOOKS["gan"],
        command="lesson7 gan restore --hr SCENES --degrade bicubic-x4 ...",
        summary="The lesson's super-resolution GAN the NoGAN way (DeOldify): a U-Net generator "
                "pretrained with a pixel loss, a critic pretrained on its outputs vs real images, "
                "then a short GAN fine-tune; toy scenes at demo scale, x4.")
    train_dir, test_dir = _toy_scenes(ctx.dir, ctx.seed, ctx.quick)
    cfg = NoGANConfig(
        hr=train_dir, eval_hr=test_dir, degrade="bicubic-x4", size=32, arch="resnet18",
        pretrained=False, identity_init=True, bs=16, gen_epochs=0,
        gen_unfreeze_epochs=2 if ctx.quick else 3, critic_epochs=1 if ctx.quick else 2,
        critic_nf=32, critic_n_blocks=2, gan_epochs=2,
        # The lesson's 0.65 is for a critic pretrained 6 epochs on thousands of images; this
        # one-minute critic stays near 0.69 (chance), so 0.65 would never let the generator
        # train. 0.7 lets both nets take turns.
        critic_thresh=0.7, out=ctx.dir / "nogan", device=ctx.device, seed=ctx.seed)
    with ctx.progress.step("the NoGAN chain: generator, predictions, critic, GAN, evaluation"):
        table = run_nogan(cfg)
    with ctx.progress.step("before/after columns on held-out scenes"):
        rows = before_after_columns(ctx, cfg.out / "generator", cfg.out / "gan", test_dir)
    run = cfg.out
    critic = json.loads((run / "critic" / "metrics.json").read_text())
    gan_hist = json.loads((run / "gan" / "metrics.json").read_text())["history"]
    acc = critic["accuracy_per_epoch"][-1] if critic.get("accuracy_per_epoch") else None
    if acc is not None:
        rep.figure("critic accuracy after pretraining (validation)", acc, NOGAN_CRITIC_ACCURACY,
                   note=f"ours: {cfg.critic_epochs} epoch(s) on toy scenes; lesson: 6 epochs on "
                        "Oxford-IIIT Pet photos")
    units = {"psnr_y": "dB", "psnr": "dB"}
    for metric, row in table["metrics"].items():
        for side in ("before_gan", "after_gan"):
            v = row.get(side)
            if v is None:
                continue
            rep.figure(f"{metric}, {side.replace('_', ' ')}", v, None, units.get(metric, ""),
                       note=f"{table['n_images']} held-out scenes; input (bicubic) "
                            + (f"{row['input']:.4f}" if row.get("input") is not None else "n/a"))
    if any(row.get("after_gan") is None for row in table["metrics"].values()):
        from lesson7.quality.lpips_metric import lpips_unavailable

        why = lpips_unavailable() or "not computed"
        missing = [m for m, row in table["metrics"].items() if row.get("after_gan") is None]
        rep.missing(", ".join(missing), f"no ImageNet AlexNet weights on this machine ({why})")
    rep.curve("GAN fine-tune losses", "epoch", [i + 1 for i in range(len(gan_hist))],
              {k: [h[k] for h in gan_hist] for k in ("gen_loss", "critic_loss")
               if all(isinstance(h.get(k), (int, float)) for h in gan_hist)})
    if critic.get("accuracy_per_epoch"):
        accs = critic["accuracy_per_epoch"]
        rep.curve("critic pretraining accuracy", "epoch", list(range(1, len(accs) + 1)),
                  {"valid": accs})
    rep.grid("NoGAN columns: input | before GAN | after GAN | target (held-out scenes)",
             [(f"{scene}", col) for scene, col, _, _ in rows])
    rep.compare("Before (generator only) vs after the GAN fine-tune",
                [(f"{scene}: before vs after GAN", b, a) for scene, _, b, a in rows])
    return rep
