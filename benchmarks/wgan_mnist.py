"""Question: does WGAN-GP beat the lesson's weight-clipped WGAN on MNIST in a fixed CPU budget,
and does either reach a classifier-FID clearly below an untrained generator's?

Both runs: MNIST train IDX (60,000 digits, 28 -> 32 px, 1 channel), basic_generator /
basic_critic, bs 64, 5 critic batches per generator batch, lr 2e-4 (clip: Adam(0, 0.99),
c = 0.01; GP: Adam(0, 0.9), lambda = 10, no BatchNorm in the critic), the same wall-time budget.
FID: penultimate features of the lesson's mnist_resnet, trained here for --classifier-epochs on
the same images; reported with the real-vs-real distance at the same sample count.

    python benchmarks/wgan_mnist.py --minutes 30 --threads 2          # the full question
    python benchmarks/wgan_mnist.py --minutes 2 --threads 1 --limit 10000   # a smoke version
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import torch

from lesson7.configs.wgan import WGANConfig
from lesson7.gan.fid import fit_classifier
from lesson7.models.mnist import mnist_resnet
from lesson7.train.checkpoint import save_checkpoint
from lesson7.wgan.data import load_images, to_gan_range
from lesson7.wgan.train import train_wgan

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(SHARED / "datasets" / "mnist" / "idx"))
    ap.add_argument("--minutes", type=float, default=30.0, help="training budget per variant")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N images")
    ap.add_argument("--n-features", type=int, default=32)
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--fid-samples", type=int, default=5000)
    ap.add_argument("--classifier-epochs", type=int, default=2)
    ap.add_argument("--out", default="runs/bench_wgan_mnist")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"device cpu ({platform.processor() or platform.machine()}), threads {args.threads}, "
          f"torch {torch.__version__}, commit {commit}")

    t0 = time.perf_counter()
    images, labels = load_images(args.data, 32, 1, args.limit)
    classifier = mnist_resnet()
    acc = fit_classifier(classifier, to_gan_range(images), labels, epochs=args.classifier_epochs)
    ckpt = save_checkpoint(out / "fid_classifier.safetensors", classifier, valid_accuracy=acc)
    print(f"FID classifier: mnist_resnet, {args.classifier_epochs} epochs, held-out accuracy "
          f"{acc:.4f} ({time.perf_counter() - t0:.0f} s)")

    rows = []
    for gp in (False, True):
        cfg = WGANConfig(data=args.data, size=32, channels=1, bs=args.bs, epochs=1000,
                         gp=gp, n_features=args.n_features, limit=args.limit,
                         fid_samples=args.fid_samples, fid_classifier=ckpt,
                         max_minutes=args.minutes, device="cpu",
                         out=out / ("gp" if gp else "clip"))
        m = train_wgan(cfg)
        rows.append(m)
        print(json.dumps({k: m[k] for k in ("variant", "fid", "fid_real_vs_real", "n_samples",
                                            "fid_untrained_generator", "generator_steps",
                                            "critic_steps", "train_seconds")}))
    print("\n| variant | train min | gen steps | FID | FID untrained G | FID real vs real | n |")
    print("|---|---|---|---|---|---|---|")
    for m in rows:
        print(f"| {m['variant']} | {m['train_seconds'] / 60:.1f} | {m['generator_steps']} | "
              f"{m['fid']:.2f} | {m['fid_untrained_generator']:.2f} | "
              f"{m['fid_real_vs_real']:.2f} | {m['n_samples']} |")


if __name__ == "__main__":
    main()
