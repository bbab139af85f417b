"""Question: what does the Learner cost over a plain PyTorch loop when training the lesson's
U-Net (resnet34, blur, self-attention, weight norm, y_range; MSE; AdamW), and how many
megapixels/s does inference restore?

Same model, same synthetic batches (already on the device), same optimizer settings; the plain
loop is forward, loss, backward, step, zero_grad. Reported: training img/s (mean ± std over
--runs), overhead = 1 - learner/plain, and inference Mpx/s through `Restorer.restore_tensor`.

    # the issue's setting:
    python benchmarks/unet_throughput.py --arch resnet34 --size 128 --bs 32 --steps 20
    # CPU smoke run:
    python benchmarks/unet_throughput.py --arch resnet18 --size 64 --bs 8 --steps 3 --runs 2
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

import torch

from lesson7.losses import MSELossFlat
from lesson7.models.unet import unet_splitter
from lesson7.restore import Restorer, UnetConfig, build_unet
from lesson7.train.learner import Learner, pick_device


class _Repeat:
    """`steps` copies of one batch: the loaders are not what is measured here."""

    def __init__(self, xb, yb, steps):
        self.xb, self.yb, self.steps = xb, yb, steps

    def __len__(self):
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            yield self.xb, self.yb


class _Data:
    def __init__(self, xb, yb, steps):
        self.train_dl = _Repeat(xb, yb, steps)
        self.valid_dl = _Repeat(xb, yb, 0)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", default="resnet34")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU x{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, cuda {torch.version.cuda}, device {name}, commit {commit}")
    print(f"{args.arch} U-Net @ {args.size}px, bs {args.bs}, {args.steps} steps x {args.runs} runs")
    cfg = UnetConfig(arch=args.arch, img_size=(args.size, args.size))
    torch.manual_seed(0)
    xb = torch.randn(args.bs, 3, args.size, args.size, device=device)
    yb = torch.randn(args.bs, 3, args.size, args.size, device=device).clamp(-2.9, 2.9)

    model = build_unet(cfg).to(device)
    learn = Learner(model, _Data(xb, yb, args.steps), MSELossFlat(), splitter=unet_splitter,
                    wd=1e-3, device=device, progress=False, mixed_precision=False,
                    path="/tmp/unet_bench")
    learn.recorder.printer = None

    def learner_run():
        learn.fit(1, lr=1e-4)

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.99), weight_decay=1e-3)
    loss_fn = MSELossFlat()

    def plain_run():
        model.train()
        for _ in range(args.steps):
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

    results = {}
    for label, fn in (("plain", plain_run), ("learner", learner_run)):
        fn()  # warm-up
        rates = []
        for _ in range(args.runs):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            rates.append(args.steps * args.bs / (time.perf_counter() - t0))
        results[label] = rates
        sd = statistics.stdev(rates) if len(rates) > 1 else 0.0
        print(f"train {label:8s} {statistics.mean(rates):8.2f} ± {sd:6.2f} img/s")
    overhead = 1 - statistics.mean(results["learner"]) / statistics.mean(results["plain"])
    print(f"Learner overhead: {100 * overhead:+.1f} %")

    restorer = Restorer(model, cfg, device)
    img = torch.rand(3, 2 * args.size, 2 * args.size)
    restorer.restore_tensor(img, tile=args.size * 2)
    _sync(device)
    t0 = time.perf_counter()
    n = max(1, args.runs)
    for _ in range(n):
        restorer.restore_tensor(img, tile=args.size * 2)
    _sync(device)
    mpx = n * img.shape[1] * img.shape[2] / 1e6 / (time.perf_counter() - t0)
    print(f"inference {mpx:.3f} Mpx/s ({img.shape[1]}x{img.shape[2]} images, one tile each)")


if __name__ == "__main__":
    main()
