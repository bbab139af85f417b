"""Question: does a short NoGAN stage (pretrained generator -> pretrained critic -> GAN) buy a
lower LPIPS for a little PSNR, as the lesson and DeOldify claim?

Runs `lesson7 gan restore` (generator pretrain -> save preds -> critic pretrain -> GAN -> `restore
eval` of both generators) on a folder of HR images, then `lesson7 gan compare` of the same two
generators on the held-in training images, and prints PSNR / PSNR-Y / SSIM / LPIPS of the
degraded input, the generator before the GAN and after it, side by side, with stage times.
`--control` (default on) then reruns the GAN stage with the adversarial weight at 0 (pixel
loss only, same schedule and switcher) and compares it with the GAN: the GAN stage's pixel
term is extra training for an under-trained generator, and only this control tells the two
effects apart.
The generator stage is also the lesson's crappify track of `restore train` (its row vs the
crappified input).

Default (sized for ~45 min on 2 CPU cores): the 370 images of the Oxford-IIIT Pet sample, the
lesson's crappifier, 96 px, a resnet34 U-Net from scratch started as the identity
(`--identity-init`; no ImageNet resnet34 weights offline, and a VGG16 U-Net step is ~6x slower
on a CPU) for 3 epochs, a critic of width 32 pretrained on random 64 px crops for 60 epochs
(~2,400 steps: the lesson's critic sits at chance for ~1,700 steps, see critic_learning.py),
12 GAN epochs; scored on Set5 (held out) and on the pets (held in).

    python benchmarks/nogan.py --threads 2 --out runs/bench_nogan
    # the bicubic x4 SR track (native crops; scored at full resolution, slow on a CPU):
    python benchmarks/nogan.py --out runs/bench_nogan_x4 -- --degrade bicubic-x4 --size 64 \
        --arch resnet34 --no-pretrained --identity-init
    # a lesson-like crappify run with a GPU and ImageNet weights:
    python benchmarks/nogan.py --out runs/bench_nogan_gpu -- --crappify lesson --size 128 \
        --gen-epochs 2 --gen-unfreeze-epochs 3 --critic-epochs 6 --gan-epochs 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from lesson7.tasks import gan

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
if (SHARED / "weights").is_dir():  # offline LPIPS trunks, found via $LESSON7_WEIGHTS
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))
DEFAULT_FLAGS = [
    "--crappify", "lesson", "--size", "96", "--arch", "resnet34", "--no-pretrained",
    "--identity-init", "--bs", "16", "--gen-epochs", "0", "--gen-unfreeze-epochs", "3",
    "--gen-lr", "1e-3", "--critic-epochs", "60", "--critic-nf", "32", "--critic-n-blocks", "3",
    "--critic-crop", "64", "--critic-lr", "1e-3", "--gan-epochs", "12", "--gan-lr", "1e-4",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hr", default=str(SHARED / "datasets" / "oxford_pets_sample"))
    ap.add_argument("--eval-hr", default=str(SHARED / "datasets" / "set5"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="runs/bench_nogan")
    ap.add_argument("--control", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the GAN stage with weights_gen (0, w) and compare (default on)")
    ap.add_argument("flags", nargs=argparse.REMAINDER,
                    help="-- then `gan restore` flags replacing the defaults")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    flags = [a for a in args.flags if a != "--"] or DEFAULT_FLAGS
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"device {args.device} (cpu: {platform.processor() or platform.machine()}, "
          f"{args.threads} threads), torch {torch.__version__}, commit {commit}")
    print(f"gan restore --hr {args.hr} --eval-hr {args.eval_hr} {' '.join(flags)}")

    parser = argparse.ArgumentParser(prog="lesson7")
    gan.register(parser.add_subparsers(dest="cmd"))
    cli = parser.parse_args(["gan", "restore", "--hr", args.hr, "--eval-hr", args.eval_hr,
                             "--device", args.device, "--out", args.out, *flags])
    t0 = time.perf_counter()
    rc = cli.func(cli)
    total = time.perf_counter() - t0
    out = Path(args.out)
    times = {}
    for stage, path in (("generator", out / "generator" / "metrics.json"),
                        ("critic", out / "critic" / "metrics.json"),
                        ("gan", out / "gan" / "metrics.json")):
        m = json.loads(path.read_text())
        times[stage] = sum(r.get("time", 0.0) for r in m["history"])
    crit = json.loads((out / "critic" / "metrics.json").read_text())["accuracy_per_epoch"]
    print(f"rc {rc}; wall {total:.0f} s (this call; stages already done are skipped); "
          f"epoch time: generator {times['generator']:.0f} s, critic {times['critic']:.0f} s "
          f"(accuracy_thresh_expand {crit}), GAN {times['gan']:.0f} s")
    print((out / "report.md").read_text())
    held_in = parser.parse_args(["gan", "compare", "--before", str(out / "generator"),
                                 "--after", str(out / "gan"), "--hr", args.hr,
                                 "--device", args.device, "--out", str(out / "compare_held_in")])
    print("held-in images (the training HR folder):")
    held_in.func(held_in)
    if args.control:
        control(parser, args, out, json.loads((out / "chain_config.json").read_text()))


def control(parser, args, out: Path, cfg: dict) -> None:
    """The same GAN stage with the adversarial weight at 0: how much of the change is the
    extra pixel-loss training rather than the critic?"""
    w_pixel = cfg["weights_gen"][1]
    run = out / "control_mse"
    train = parser.parse_args([
        "gan", "train", "--generator", str(out / "generator"), "--critic", str(out / "critic"),
        "--size", str(cfg["size"]), "--epochs", str(cfg["gan_epochs"]), "--lr", str(cfg["gan_lr"]),
        "--bs", str(cfg["bs"]), "--weights-gen", f"0,{w_pixel}",
        "--critic-thresh", str(cfg["critic_thresh"]), "--device", args.device,
        "--seed", str(cfg["seed"]), "--out", str(run)])
    metrics = run / "metrics.json"
    if not (metrics.is_file() and json.loads(metrics.read_text()).get("complete")):
        train.func(train)  # resumes an interrupted control run
    for name, hr in (("held_out", args.eval_hr), ("held_in", args.hr)):
        print(f"MSE-only control (before) vs GAN (after), {name} images:")
        cmp = parser.parse_args(["gan", "compare", "--before", str(run), "--after",
                                 str(out / "gan"), "--hr", hr, "--device", args.device,
                                 "--out", str(out / f"compare_control_{name}")])
        cmp.func(cmp)


if __name__ == "__main__":
    main()
