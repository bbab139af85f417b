"""Question: does the demo's WGAN stage reach its bar — at least 70 % of 500 samples read as a
digit with p >= 0.9 by the mnist stage's ResNet, and a classifier-FID at most a third of the
untrained generator's — and at what CPU cost?

Runs exactly the demo's settings (`lesson7.demo.mnist.mnist_config`, `lesson7.demo.wgan.wgan_config`,
its linear LR decay) for each seed, without the demo's wall-time cap (so a busy machine still
measures the full recipe), and prints per seed: share, FID ratio, generator steps, CPU seconds
(process time: comparable on a shared machine) and wall seconds with the load average.

    nice python benchmarks/demo_wgan.py --seeds 0 1 2 --threads 1 --out runs/bench_demo_wgan
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch

from lesson7.demo.context import StageContext
from lesson7.demo.mnist import mnist_config
from lesson7.demo.progress import StageProgress
from lesson7.demo.wgan import CONFIDENCE, LinearLRDecay, judge_samples, wgan_config
from lesson7.mnist.train import train_mnist
from lesson7.wgan.train import train_wgan


def one_seed(out: Path, seed: int, epochs: int | None = None) -> dict:
    ctx = StageContext(root=out, dir=out / "wgan", device="cpu", seed=seed, quick=False,
                       progress=StageProgress("wgan", 1, 1, 1))
    mcfg = mnist_config(ctx)
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    train_mnist(mcfg, printer=lambda *a: None)
    cfg = dataclasses.replace(wgan_config(ctx, mcfg.out / "model.safetensors"), max_minutes=None)
    if epochs is not None:  # explore: the demo's recipe for longer or shorter
        cfg = dataclasses.replace(cfg, epochs=epochs)
    m = train_wgan(cfg, cbs=[LinearLRDecay(cfg.lr)])
    j = judge_samples(cfg, mcfg.out / "model.safetensors", seed)
    return {"seed": seed, "share": j["share"], "share_untrained": j["share_untrained"],
            "fid": m["fid"], "fid_untrained": m["fid_untrained_generator"],
            "fid_ratio": m["fid"] / m["fid_untrained_generator"],
            "fid_real_vs_real": m["fid_real_vs_real"], "generator_steps": m["generator_steps"],
            "epochs": len(m["history"]), "cpu_s": time.process_time() - t_cpu,
            "wall_s": time.perf_counter() - t_wall, "load_end": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/bench_demo_wgan"))
    ap.add_argument("--epochs", type=int, default=None, help="instead of the demo's (to explore)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"device cpu ({platform.machine()}, {args.threads} threads), torch {torch.__version__}, "
          f"commit {commit}, load {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for seed in args.seeds:
        row = one_seed(args.out / f"seed{seed}", seed, args.epochs)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if len(rows) > 1:
        for k in ("share", "fid_ratio", "cpu_s"):
            v = [r[k] for r in rows]
            print(f"{k}: median {statistics.median(v):.3f} (range {min(v):.3f}-{max(v):.3f})")
    print(f"bar: share >= 0.70 at p >= {CONFIDENCE}, FID ratio <= 0.333")


if __name__ == "__main__":
    main()
