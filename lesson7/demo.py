"""`run_demo(cfg)`: the lesson end to end, offline, in a few minutes on a laptop CPU.

Runs each pipeline on small data that ships with the package (or that the project generates),
writes everything under cfg.out (default runs/demo/), and returns a summary per stage. The
numbers are real but small-data numbers: see the README for full-data results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lesson7.configs.demo import DemoConfig
from lesson7.files import atomic_write_json

__all__ = ["STAGES", "run_demo", "mnist_sample_path"]


def mnist_sample_path() -> Path:
    """The packaged MNIST sample: 100 training + 50 testing digits per class (mnist_png layout)."""
    return Path(__file__).resolve().parent / "assets" / "mnist_sample.tgz"


def stage_mnist(out: Path, device: str, seed: int) -> dict[str, Any]:
    """The lesson ResNet (41,132 params), 12 epochs one-cycle at lr 0.05, on 1,000 digits."""
    from lesson7.configs.mnist import MnistConfig
    from lesson7.mnist.train import train_mnist

    m = train_mnist(MnistConfig(model="resnet", data=str(mnist_sample_path()), out=out / "mnist",
                                device=device, seed=seed, bs=64))
    return {"accuracy": m["final"]["accuracy"], "train_wall_s": m["train_wall_s"],
            "n_train": 1000, "n_valid": 500}


def stage_numbers(out: Path, device: str, seed: int) -> dict[str, Any]:
    """Human numbers: the lesson's 2-layer GRU (Model5), 10 epochs one-cycle at lr 1e-2."""
    import torch

    from lesson7.configs.numbers import NumbersConfig
    from lesson7.text.train import train_numbers

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64-unit GRU gains nothing from a second thread, and loses to contention
    try:
        m = train_numbers(NumbersConfig(model="5", out=out / "numbers", seed=seed, device=device))
    finally:
        torch.set_num_threads(threads)
    return {"accuracy": m["final"]["accuracy"], "train_wall_s": m["train_wall_s"],
            "lesson_accuracy": 0.807}


def lpips_available() -> bool:
    """LPIPS needs an ImageNet AlexNet trunk (torchvision's cache or the weights dir)."""
    from lesson7.quality.lpips_metric import lpips_unavailable

    return lpips_unavailable() is None


def _toy_scenes(out: Path, seed: int) -> tuple[Path, Path]:
    from lesson7.data.synthetic import make_toy_scenes

    return (make_toy_scenes(out / "scenes" / "train", n=64, size=48, seed=seed),
            make_toy_scenes(out / "scenes" / "test", n=8, size=48, seed=seed + 1))


def stage_restore(out: Path, device: str, seed: int) -> dict[str, Any]:
    """Super-resolution x4 on generated toy scenes: a resnet18 U-Net (no pretrained weights,
    offline) trained 6 epochs, then evaluated on held-out scenes against bicubic."""
    from lesson7.configs.restore import EvalConfig, RestoreTrainConfig
    from lesson7.restore.evaluate import evaluate_restorer
    from lesson7.restore.train import train_restorer

    train_dir, test_dir = _toy_scenes(out, seed)
    run = out / "restore"
    train_restorer(RestoreTrainConfig(
        hr=[train_dir], degrade="bicubic-x4", arch="resnet18", pretrained=False,
        identity_init=True, size=[48], bs=16, epochs=0, unfreeze_epochs=6, lr=1e-3, out=run,
        device=device, seed=seed))
    m = evaluate_restorer(EvalConfig(checkpoint=run, hr=test_dir, out=run / "eval", device=device,
                                     lpips=lpips_available()))
    return {"psnr_y_model": m["model"]["psnr_y"], "psnr_y_bicubic": m["baseline"]["psnr_y"],
            "lpips_model": m["model"]["lpips"], "lpips_bicubic": m["baseline"]["lpips"],
            "n_test_images": m["n_images"]}


def stage_gan(out: Path, device: str, seed: int) -> dict[str, Any]:
    """NoGAN on the toy scenes (x4): generator -> its predictions -> critic -> GAN, each a single
    short stage, then the generator before vs after the GAN on the same images (LPIPS n/a
    without ImageNet AlexNet weights)."""
    import json

    from lesson7.configs.nogan import NoGANConfig
    from lesson7.nogan.chain import run_nogan

    train_dir, _ = _toy_scenes(out, seed)
    run = out / "gan"
    m = run_nogan(NoGANConfig(
        hr=train_dir, degrade="bicubic-x4", size=32, arch="resnet18", pretrained=False,
        identity_init=True, bs=16, gen_epochs=0, gen_unfreeze_epochs=3, critic_epochs=2,
        critic_nf=32, critic_n_blocks=2, gan_epochs=2,
        # The lesson's 0.65 is for a critic pretrained 6 epochs on thousands of images; this
        # one-minute critic stays near 0.69 (chance), so 0.65 would never let the generator
        # train. 0.7 lets both nets take turns.
        critic_thresh=0.7, out=run, device=device, seed=seed))
    gan_final = json.loads((run / "gan" / "metrics.json").read_text())["final"]
    scores = {f"{metric}_{side}": row[side] for metric, row in m["metrics"].items()
              for side in ("input", "before_gan", "after_gan")}
    return {"gen_loss": gan_final.get("gen_loss"), "critic_loss": gan_final.get("critic_loss"),
            **scores}


def stage_wgan(out: Path, device: str, seed: int) -> dict[str, Any]:
    """WGAN-GP from noise on the 1,000 packaged digits (32 px), a few epochs; classifier-FID uses
    the ResNet the mnist stage trained (run that stage first)."""
    from lesson7.configs.wgan import WGANConfig
    from lesson7.data.datasets import resolve_dataset
    from lesson7.wgan.train import train_wgan

    digits = resolve_dataset(mnist_sample_path())
    classifier = out / "mnist" / "model.safetensors"
    m = train_wgan(WGANConfig(
        data=str(digits), size=32, channels=1, bs=64, epochs=4, gp=True, n_features=32,
        fid_samples=500, fid_classifier=classifier if classifier.exists() else None,
        out=out / "wgan", device=device, seed=seed))
    return {k: m.get(k) for k in ("fid", "fid_real_vs_real", "fid_untrained_generator", "n_samples")}


Stage = Callable[[Path, str, int], dict[str, Any]]
STAGES: dict[str, Stage] = {"mnist": stage_mnist, "numbers": stage_numbers, "restore": stage_restore,
                            "gan": stage_gan, "wgan": stage_wgan}


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Run the chosen stages in order; OUT/summary.json is rewritten after each one."""
    from lesson7.train.learner import pick_device

    pick_device(cfg.device)  # an unusable --device fails before any work
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    for name in cfg.only or list(STAGES):
        print(f"\n=== {name} ===")
        t0 = time.perf_counter()
        summary[name] = {**STAGES[name](out, cfg.device, cfg.seed),
                         "stage_wall_s": time.perf_counter() - t0}
        atomic_write_json(out / "summary.json", summary)  # partial progress is labelled by stage
    return summary
