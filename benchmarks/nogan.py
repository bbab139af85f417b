"""Question: does a short NoGAN stage (pretrained generator -> pretrained critic -> GAN) buy a
lower LPIPS for a little PSNR, as the lesson and DeOldify claim?

Runs `lesson7 gan restore` (generator pretrain -> save preds -> critic pretrain -> GAN -> `restore
eval` of both generators) on a folder of HR images, then prints PSNR / PSNR-Y / SSIM / LPIPS of
the degraded input, the generator before the GAN and after it, side by side, with stage times.
Default (sized for ~10 min on 1 CPU thread): the 120 cats of the Oxford-IIIT Pet sample,
the lesson's crappifier, 48 px, a VGG16 U-Net with the staged ImageNet weights, one epoch per
stage, scored on Set5 (held out) at short side 48 px. On one thread a VGG16 U-Net step at
64 px takes ~1 s per image, hence the tiny budget; the numbers are a smoke test of the
pipeline, not of the method.

    python benchmarks/nogan.py --threads 1 --out runs/bench_nogan
    # the bicubic x4 SR track (native crops; scored at full resolution, slow on a CPU):
    python benchmarks/nogan.py --out runs/bench_nogan_x4 -- --degrade bicubic-x4 --size 64 \
        --arch vgg16 --encoder-weights ../shared/weights/vgg16_features.safetensors
    # a lesson-like crappify run with a GPU:
    python benchmarks/nogan.py --out runs/bench_nogan_gpu -- --crappify lesson --size 128 \\
        --gen-epochs 2 --gen-unfreeze-epochs 3 --critic-epochs 6 --gan-epochs 10
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import torch

from lesson7.tasks import gan

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
DEFAULT_FLAGS = [
    "--crappify", "lesson", "--size", "48", "--arch", "vgg16",
    "--encoder-weights", str(SHARED / "weights" / "vgg16_features.safetensors"),
    "--bs", "8", "--gen-epochs", "1", "--gen-unfreeze-epochs", "1", "--gen-lr", "1e-3",
    "--critic-epochs", "1", "--critic-nf", "32", "--critic-n-blocks", "2",
    "--gan-epochs", "1", "--gan-lr", "1e-4",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hr", default=str(SHARED / "datasets" / "oxford_pets_sample" / "cats"))
    ap.add_argument("--eval-hr", default=str(SHARED / "datasets" / "set5"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="runs/bench_nogan")
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


if __name__ == "__main__":
    main()
