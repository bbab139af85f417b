"""Question: how many steps does the lesson's critic need before it separates crappified from real
images, and which of its design choices sets that number?

The NoGAN benchmark's GAN stage never trained the generator on a CPU budget because the
pretrained critic stayed at chance (BCE 0.693). This probe isolates the critic: lesson-crappified
(JPEG q 10-70 + the quality stamped as text, `LessonCrappifier`) vs real images, both at 96 px
short side, random 64 px crops, each batch holding the real and crappified versions of the same
8 images (the easiest setting: content cancels out), constant Adam LR, betas (0.9, 0.99).
Validation: a fixed crop of 10 % of the images (never trained on, in either version).

Variants (`--variants`):
  lesson      gan_critic(nf) as in the lesson: spectral norm, no BatchNorm, dense block,
              self-attention, dropout, k4 s2 convs, patch head
  no-sn       the same without spectral norm
  bn          the same with BatchNorm instead of spectral norm
  plain-bn    a 4-layer 3x3 CNN (first conv stride 1) with BatchNorm, global average pool
  plain-sn    that CNN with spectral norm instead of BatchNorm
  encoder     `encoder_critic`: the ImageNet EfficientNet-Lite0 trunk (BatchNorm at ImageNet
              statistics) + a spectral-norm patch head (`gan critic --arch encoder`)

`--until 0.6 --seeds 0 1 2`: for each variant and seed, train until the validation accuracy
first exceeds 0.6 (checked every `--every` steps, at most `--steps`) and print the step, then
the median over the seeds (">N" when a seed never got there).

    python benchmarks/critic_learning.py --steps 300
    python benchmarks/critic_learning.py --variants lesson --steps 2000 --every 250
    python benchmarks/critic_learning.py --variants encoder lesson --until 0.6 --seeds 0 1 2 \
        --steps 400 --every 25
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn.utils import spectral_norm

from lesson7.data.crappify import LessonCrappifier
from lesson7.data.stats import IMAGENET_MEAN, IMAGENET_STD
from lesson7.losses.gan import AdaptiveLoss, accuracy_thresh_expand
from lesson7.models.critic import encoder_critic, gan_critic

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
MEAN = torch.tensor(IMAGENET_MEAN)[:, None, None]
STD = torch.tensor(IMAGENET_STD)[:, None, None]


def _tensor(img: Image.Image, size: int) -> torch.Tensor:  # -> (3, size, size) centre crop
    w, h = img.size
    s = size / min(w, h)
    img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.Resampling.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    arr = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.float32) / 255
    return (torch.from_numpy(arr).permute(2, 0, 1) - MEAN) / STD


def load_pairs(files: list[Path], size: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """(real, crappified), each (N, 3, size, size), ImageNet-normalised, same geometry."""
    crap = LessonCrappifier(size=96)
    real, fake = [], []
    for i, f in enumerate(files):
        img = Image.open(f).convert("RGB")
        bad, q = crap(img.copy(), random.Random(i))
        buf = io.BytesIO()
        bad.save(buf, "JPEG", quality=q)
        real.append(_tensor(img.resize(bad.size, Image.Resampling.BILINEAR), size))
        fake.append(_tensor(Image.open(buf).convert("RGB"), size))
    return torch.stack(real), torch.stack(fake)


def _plain(norm: str) -> nn.Sequential:
    def block(ni: int, nf: int, stride: int) -> nn.Sequential:
        conv = nn.Conv2d(ni, nf, 3, stride, 1, bias=norm != "bn")
        layers = [spectral_norm(conv) if norm == "sn" else conv]
        layers += [nn.BatchNorm2d(nf)] if norm == "bn" else []
        return nn.Sequential(*layers, nn.LeakyReLU(0.2))
    head = nn.Linear(64, 1)
    return nn.Sequential(block(3, 32, 1), block(32, 32, 2), block(32, 64, 2), block(64, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         spectral_norm(head) if norm == "sn" else head)


def make(variant: str, nf: int) -> nn.Module:
    if variant == "encoder":
        return encoder_critic(pretrained=True)
    if variant.startswith("plain-"):
        return _plain(variant.removeprefix("plain-"))
    norm = {"lesson": "spectral", "no-sn": None, "bn": "batch"}[variant]
    return gan_critic(3, nf, 3, norm_type=norm)


def crop(x: torch.Tensor, c: int, g: torch.Generator) -> torch.Tensor:
    i, j = torch.randint(0, x.shape[-1] - c + 1, (2,), generator=g).tolist()
    return x[..., i:i + c, j:j + c]


def run(variant: str, real, fake, train, valid, args, seed: int | None = None
        ) -> tuple[list[str], float, int | None]:
    """(curve, seconds per step, first step whose valid accuracy > args.until, or None)."""
    seed = args.seed if seed is None else seed
    torch.manual_seed(seed)
    net = make(variant, args.nf)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.99))
    loss_fn = AdaptiveLoss(nn.BCEWithLogitsLoss())
    g = torch.Generator().manual_seed(1)
    xv = torch.cat([crop(real[valid], args.crop, g), crop(fake[valid], args.crop, g)])
    yv = torch.cat([torch.ones(len(valid)), torch.zeros(len(valid))])
    g = torch.Generator().manual_seed(seed + 2)
    hist, out, t0, left = [], [], time.perf_counter(), None
    for step in range(1, args.steps + 1):
        idx = train[torch.randint(len(train), (args.bs // 2,), generator=g)]
        x = crop(torch.cat([real[idx], fake[idx]]), args.crop, g)
        y = torch.cat([torch.ones(args.bs // 2), torch.zeros(args.bs // 2)])
        net.train()
        pred = net(x)
        loss = loss_fn(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append((loss.item(), accuracy_thresh_expand(pred.detach(), y).item()))
        if step % args.every == 0:
            net.eval()
            with torch.no_grad():
                vacc = accuracy_thresh_expand(net(xv), yv).item()
            tl, ta = np.mean(hist[-args.every:], axis=0)
            out.append(f"{step}: train {tl:.3f}/{ta:.2f} valid {vacc:.2f}")
            if args.until is not None and vacc > args.until:
                left = step
                break
    return out, (time.perf_counter() - t0) / step, left


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+",
                    default=["plain-bn", "plain-sn", "lesson", "no-sn", "bn"])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--nf", type=int, default=32)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--bs", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--until", type=float, default=None,
                    help="stop each run when the valid accuracy first exceeds this; report the step")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="with --until: one run per seed (model init and batches), then the median")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    files = (sorted((SHARED / "oxford_pets_sample").rglob("*.jpg"))
             + sorted((SHARED / "bsds500" / "train").glob("*.jpg")))
    if not files:
        raise SystemExit(f"no images under {SHARED}: this benchmark needs ../shared/datasets")
    real, fake = load_pairs(files)
    order = torch.randperm(len(files), generator=torch.Generator().manual_seed(args.seed))
    valid, train = order[:len(files) // 10], order[len(files) // 10:]
    print(f"device cpu ({platform.machine()}, {args.threads} threads), torch {torch.__version__}; "
          f"{len(files)} images (pets sample + BSD200), train/valid {len(train)}/{len(valid)}; "
          f"nf {args.nf}, crop {args.crop}, bs {args.bs} (real+crappified of {args.bs // 2} "
          f"images), Adam lr {args.lr}, seed {args.seed}, 1 run per variant; "
          "columns: mean train BCE/acc over the window, valid acc")
    if args.until is not None:
        race(args, real, fake, train, valid)
        return
    for variant in args.variants:
        curve, per_step, _ = run(variant, real, fake, train, valid, args)
        print(f"{variant:9s} {' | '.join(curve)} | {per_step:.2f} s/step", flush=True)


def race(args, real, fake, train, valid) -> None:
    """Steps until the valid accuracy leaves chance, per seed, and their median."""
    seeds = args.seeds or [args.seed]
    for variant in args.variants:
        steps = []
        for seed in seeds:
            curve, per_step, left = run(variant, real, fake, train, valid, args, seed)
            steps.append(left if left is not None else float("inf"))
            print(f"{variant:9s} seed {seed}: {'>' + str(args.steps) if left is None else left} "
                  f"steps ({curve[-1] if curve else '-'}; {per_step:.2f} s/step)", flush=True)
        med = float(np.median(steps))
        shown = [str(s) if s != float("inf") else f">{args.steps}" for s in steps]
        print(f"{variant:9s} steps until valid acc > {args.until}: median "
              f"{'>' + str(args.steps) if med == float('inf') else f'{med:g}'} "
              f"(seeds {seeds}: {', '.join(shown)})", flush=True)


if __name__ == "__main__":
    main()
