"""Demo stage `wgan`: a WGAN-GP draws digits from noise, and the mnist stage's ResNet judges them.

`lesson7-wgan.ipynb` trains the lesson's DCGAN-style generator and critic on LSUN bedrooms for
two hours; the demo trains them on the 1,500 packaged digits (32 px, greyscale) with the
gradient penalty (Gulrajani et al. 2017), which reached half the clip-WGAN's FID in the same
CPU time (benchmarks/README.md). Settings chosen by measurement on the 2-core CPU (benchmarks/README.md):
narrow nets (16 features) at lr 1e-3 gave more recognisable digits per generator step than 32
features at 5e-4, and one critic step per generator step the same quality per step as two at
~60 % of the CPU; the LR then decays linearly to 0, as in the WGAN-GP authors' code
(igul222/improved_wgan_training), so the last epochs settle. 900 epochs (~10,000 generator
steps, ~7 CPU minutes on one thread): 300 epochs left 0.58-0.60 of the samples passing the 0.9
judge, 600 about 0.69, 900 0.71-0.72 (median of 3 seeds 0.718; real digits: 0.89). An average
of the generator's weights (`lesson7 wgan --ema`) added at most 0.002 at 900 epochs (0.014 at
600): with the LR decaying to 0 the last weights are settled, so the demo does without.

Two tests of the samples: the share of 500 samples that the mnist stage's ResNet classifies
with probability >= 0.9 (real digits: ~0.9), and the classifier-FID (`lesson7.gan.fid`) vs
the untrained generator's.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from lesson7.demo.context import StageContext, mnist_sample_path, one_thread
from lesson7.demo.images import titled_grid
from lesson7.demo.lesson_figures import NOTEBOOKS
from lesson7.demo.stage_report import StageReport
from lesson7.train.callbacks import Callback

__all__ = ["stage_wgan", "digit_confidence", "wgan_config", "judge_samples", "LinearLRDecay",
           "CONFIDENCE", "TARGET_SHARE"]

CONFIDENCE = 0.9
"""A sample counts as a digit when the ResNet gives one class at least this probability."""
TARGET_SHARE = 0.7
"""The demo's bar: at least this share of 500 samples look like digits to the ResNet."""
N_SAMPLES = 500
EPOCHS, QUICK_EPOCHS = 900, 12
MAX_MINUTES = 8.0
"""Safety cap on a slow or busy machine; the report says when it stopped training early."""


def wgan_config(ctx: StageContext, classifier: Path):
    from lesson7.configs.wgan import WGANConfig
    from lesson7.data.datasets import resolve_dataset

    return WGANConfig(
        data=str(resolve_dataset(mnist_sample_path())), size=32, channels=1, bs=64,
        epochs=QUICK_EPOCHS if ctx.quick else EPOCHS, gp=True, n_features=16, n_crit=1, lr=1e-3,
        fid_samples=N_SAMPLES, fid_classifier=classifier, max_minutes=MAX_MINUTES,
        out=ctx.dir, device=ctx.device, seed=ctx.seed)


class LinearLRDecay(Callback):
    """Both optimizers' LR falls linearly from the fit's LR to 0 over training (per batch)."""

    order = 50  # after the fit's constant-LR ParamScheduler (10), which writes the active one

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def before_batch(self, learn) -> None:
        trainer = learn.gan_trainer
        for opt in (trainer.opt_gen, trainer.opt_critic):
            for group in opt.param_groups:
                group["lr"] = self.lr * (1 - learn.pct_train)


def real_digit_stats(data: str) -> tuple[float, float]:
    """Mean and std of the real digits in [0, 1] (what the classifier's inputs are normalised by)."""
    from lesson7.wgan.data import load_images

    x = load_images(data, 32, 1)[0].float() / 255
    return float(x.mean()), float(x.std())


@torch.no_grad()
def digit_confidence(classifier: torch.nn.Module, images: torch.Tensor, mean: float, std: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(max probability, predicted class) per image; images (N, 1, S, S) in [-1, 1], resized to
    the classifier's 28 px as `lesson7.gan.fid.ClassifierFeatures` does."""
    x = (images.float() + 1) / 2
    x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    probs = torch.cat([F.softmax(classifier((b - mean) / std), dim=1) for b in x.split(250)])
    conf, pred = probs.max(1)
    return conf, pred


@torch.no_grad()
def judge_samples(cfg, classifier_path: Path, seed: int) -> dict:
    """The trained generator's N_SAMPLES samples (fixed noise) and the untrained one's, judged
    by the classifier: {"samples", "conf", "pred", "conf_untrained", "share", "share_untrained"}."""
    from lesson7.models.mnist import mnist_resnet
    from lesson7.models.wgan import basic_generator
    from lesson7.train.checkpoint import load_checkpoint

    classifier = mnist_resnet()
    load_checkpoint(classifier_path, classifier)
    classifier.eval()
    mean, std = real_digit_stats(cfg.data)
    torch.manual_seed(seed)  # the untrained generator: a seeded random init
    untrained, trained = (basic_generator(cfg.size, cfg.channels, cfg.noise_sz, cfg.n_features,
                                          cfg.n_extra_layers).eval() for _ in range(2))
    load_checkpoint(cfg.out / "generator.safetensors", trained)
    noise = torch.randn(N_SAMPLES, cfg.noise_sz, 1, 1,
                        generator=torch.Generator().manual_seed(seed + 1000))
    samples = trained(noise)
    conf, pred = digit_confidence(classifier, samples, mean, std)
    conf0, _ = digit_confidence(classifier, untrained(noise), mean, std)
    return {"samples": samples, "conf": conf, "pred": pred, "conf_untrained": conf0,
            "share": float((conf >= CONFIDENCE).float().mean()),
            "share_untrained": float((conf0 >= CONFIDENCE).float().mean())}


def stage_wgan(ctx: StageContext) -> StageReport:
    from lesson7.demo.mnist import mnist_config
    from lesson7.wgan.train import train_wgan

    rep = StageReport(
        title="WGAN: digits from noise", lesson=NOTEBOOKS["wgan"],
        command="lesson7 wgan --data DIGITS --gp --size 32 --channels 1 --n-features 16 "
                "--n-crit 1 --lr 1e-3 --bs 64 (+ the demo's linear LR decay to 0)",
        summary="The lesson's DCGAN-style generator learns to turn random noise into "
                "handwritten digits, trained against a Wasserstein critic with the gradient "
                "penalty; the mnist stage's ResNet judges whether the samples look like digits.")
    mcfg = mnist_config(ctx)
    classifier_path = mcfg.out / "model.safetensors"
    if not classifier_path.is_file():
        from lesson7.mnist.train import train_mnist

        with ctx.progress.step("the mnist stage's ResNet is missing: training it first"), \
                one_thread(ctx):
            train_mnist(mcfg)
    cfg = wgan_config(ctx, classifier_path)
    with ctx.progress.step(f"training the WGAN-GP, {cfg.epochs} epochs on 1,500 digits"), \
            one_thread(ctx):  # 16-feature nets at 32 px: see one_thread
        m = train_wgan(cfg, cbs=[LinearLRDecay(cfg.lr)])
    with ctx.progress.step(f"judging {N_SAMPLES} samples with the mnist ResNet"):
        j = judge_samples(cfg, classifier_path, ctx.seed)
        samples, conf, pred = j["samples"], j["conf"], j["pred"]
        n = 40
        titled_grid(((samples[:n, 0] + 1) / 2).clamp(0, 1).numpy(),
                    [f"{p} ({c:.2f})" for p, c in zip(pred[:n].tolist(), conf[:n].tolist(), strict=True)],
                    8, ctx.dir / "judged_samples.png",
                    colors=["green" if c >= CONFIDENCE else "gray" for c in conf[:n].tolist()])
    share = j["share"]
    hist = m["history"]
    done_epochs = len(hist)
    stopped = done_epochs < cfg.epochs
    rep.figure(f"samples the ResNet reads as a digit with p >= {CONFIDENCE}", share, None,
               note=f"{N_SAMPLES} samples; the demo's bar is {TARGET_SHARE:.0%}; untrained "
                    f"generator: {j['share_untrained']:.3f}; the lesson "
                    "has no quality metric for its WGAN")
    if m.get("fid") is not None:
        rep.figure("classifier-FID, trained generator", m["fid"], None,
                   note=f"{m['n_samples']} samples vs real digits, ResNet penultimate features; "
                        f"real vs real: {m['fid_real_vs_real']:.2f}")
        rep.figure("classifier-FID, untrained generator", m["fid_untrained_generator"], None)
        rep.figure("FID ratio trained / untrained", m["fid"] / m["fid_untrained_generator"], None,
                   note="the demo's bar: at most 1/3")
    else:
        rep.missing("classifier-FID", m.get("fid_note", "no classifier"))
    rep.figure("generator steps", m["generator_steps"], None,
               note=f"{done_epochs} epochs, {m['train_seconds']:.0f} s of training"
                    + (f" (stopped by the {MAX_MINUTES:g}-minute cap)" if stopped else ""))
    counts = torch.bincount(pred[conf >= CONFIDENCE], minlength=10).tolist()
    rep.text("Which digits the confident samples are", [
        "digit:  " + " ".join(f"{d:>4}" for d in range(10)),
        "count:  " + " ".join(f"{c:>4}" for c in counts)])
    x = [h["epoch"] + 1 for h in hist]
    rep.curve("WGAN losses", "epoch", x, {"generator": [h["gen_loss"] for h in hist],
                                          "critic": [h["critic_loss"] for h in hist]})
    shown = sorted({1, *(round(done_epochs * k / 5) for k in range(1, 6))} - {0})
    rep.grid("Samples from the same noise as training goes on",
             [(f"epoch {e}", f"samples_epoch{e}.png") for e in shown
              if (cfg.out / f"samples_epoch{e}.png").is_file()])
    rep.grid("Samples judged by the ResNet: predicted digit (probability); green: p >= 0.9",
             [(f"{n} of the {N_SAMPLES} samples", "judged_samples.png")])
    return rep
