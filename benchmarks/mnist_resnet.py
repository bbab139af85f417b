"""Benchmark: the lesson ResNet on full MNIST, 12 epochs one-cycle lr 0.05 bs 128 (issue 2).

Reports (1) accuracy and wall time of the full Learner run, and (2) the Learner's overhead:
epochs of `Learner.fit_one_cycle` and of a plain PyTorch loop (same model, optimizer, schedule
and batches) timed alternately, median per-epoch time of each and their ratio.

    python benchmarks/mnist_resnet.py --data ../shared/datasets/mnist/mnist_png.tgz --seed 0
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lesson7.configs.mnist import MnistConfig
from lesson7.mnist.train import load_mnist, train_mnist
from lesson7.models.mnist import mnist_resnet
from lesson7.train import Learner, accuracy
from lesson7.train.optim import adamw, make_param_groups
from lesson7.train.schedules import one_cycle, one_cycle_moms


def plain_epoch(model, opt, data, lr_max: float, device) -> float:
    """One epoch the way a PyTorch tutorial writes it; returns validation accuracy."""
    sched, mom = one_cycle(lr_max, 0.3, 25, 25e4), one_cycle_moms((0.95, 0.85, 0.95), 0.3)
    n = len(data.train_dl)
    model.train()
    for i, (xb, yb) in enumerate(data.train_dl):
        for g in opt.param_groups:
            g["lr"], g["betas"] = sched(i / (n - 1)), (mom(i / (n - 1)), g["betas"][1])
        loss = F.cross_entropy(model(xb.to(device)), yb.to(device))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for xb, yb in data.valid_dl:
            pred = model(xb.to(device))
            correct += (pred.argmax(-1) == yb.to(device)).sum()
            total += len(yb)
    return (correct / total).item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/datasets/mnist/mnist_png.tgz")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--overhead-runs", type=int, default=3, help="alternating epoch pairs")
    ap.add_argument("--skip-full", action="store_true", help="only measure the overhead")
    ap.add_argument("--out", type=Path, default=Path("runs/bench_mnist"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42, the CLI's)")
    args = ap.parse_args()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    cfg = MnistConfig(model="resnet", data=args.data, out=args.out, device=args.device,
                      epochs=args.epochs, lr=0.05, bs=128, seed=args.seed)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "commit": commit,
              "seed": args.seed,
              "cpu": platform.processor() or platform.machine()}
    if not args.skip_full:
        m = train_mnist(cfg, printer=print)
        result.update(device=m["device"], accuracy=m["final"]["accuracy"], epochs=args.epochs,
                      train_wall_s=m["train_wall_s"])
        print(f"full run: accuracy {m['final']['accuracy']:.4f}, {args.epochs} epochs in "
              f"{m['train_wall_s']:.1f} s on {m['device']}")

    # Overhead: the same model/optimizer/batches through the Learner and through a plain loop.
    data = load_mnist(cfg)
    learn = Learner(mnist_resnet(), data, torch.nn.CrossEntropyLoss(), metrics=[accuracy],
                    path=args.out / "overhead", device=args.device, progress=False)
    learn.recorder.printer = None
    device = learn.device
    plain_model = mnist_resnet().to(device)
    plain_opt = adamw(make_param_groups(plain_model, [list(plain_model.parameters())], 1e-2, True))
    t_learner, t_plain = [], []
    for r in range(args.overhead_runs):
        for which in (("learner", "plain") if r % 2 == 0 else ("plain", "learner")):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            if which == "learner":
                learn.fit_one_cycle(1, 0.05)
            else:
                plain_epoch(plain_model, plain_opt, data, 0.05, device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            (t_learner if which == "learner" else t_plain).append(time.perf_counter() - t0)
    med_l, med_p = statistics.median(t_learner), statistics.median(t_plain)
    result.update(overhead_runs=args.overhead_runs, learner_epoch_s=t_learner, plain_epoch_s=t_plain,
                  learner_median_s=med_l, plain_median_s=med_p, overhead=med_l / med_p - 1)
    print(f"per-epoch median over {args.overhead_runs} alternating runs: Learner {med_l:.2f} s, "
          f"plain loop {med_p:.2f} s -> overhead {100 * (med_l / med_p - 1):+.1f} %")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
