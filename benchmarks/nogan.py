"""Question: does a short NoGAN stage (pretrained generator -> pretrained critic -> GAN) buy a
lower LPIPS for a little PSNR, as the lesson and DeOldify claim?

Runs the NoGAN chain, `run_nogan` (`lesson7 gan restore`: generator pretrain -> save preds ->
critic pretrain -> GAN -> `restore eval` of both generators) on a folder of HR images, then
`compare_runs` (`lesson7 gan compare`) of the same two generators on the held-in training
images, and prints PSNR / PSNR-Y / SSIM / LPIPS of the degraded input, the generator before
the GAN and after it, side by side, with stage times.
`--control` (default on) then reruns the GAN stage with the adversarial weight at 0 (pixel
loss only, same LR schedule) and compares it with the GAN: the GAN stage's pixel term is extra
training for an under-trained generator, and only this control tells the two effects apart.
`--control-steps equal` (default) gives the control's generator exactly the GAN run's
generator batches per epoch (`ScheduledGANSwitcher` replays its counts; folder
`control_equal`); `adaptive` runs the lesson's switcher again (`control_mse`), whose counts
differ once the adversarial term is gone (85 generator batches against the GAN's 68 here).
The generator stage is also the lesson's crappify track of `restore train` (its row vs the
crappified input).

Default (sized for ~45 min on 2 CPU cores): the 370 images of the Oxford-IIIT Pet sample, the
lesson's crappifier, 96 px, a resnet34 U-Net from scratch started as the identity
(`--identity-init`; no ImageNet resnet34 weights offline, and a VGG16 U-Net step is ~6x slower
on a CPU) for 3 epochs, a critic of width 32 pretrained on random 64 px crops for 60 epochs
(~2,400 steps: the lesson's critic sits at chance for ~1,700 steps, see critic_learning.py),
12 GAN epochs; scored on Set5 (held out) and on the pets (held in).

    python benchmarks/nogan.py --threads 2 --out runs/bench_nogan
    # the same with the pretrained-encoder critic (EfficientNet-Lite0 + spectral-norm head, at
    # its fine-tuning LR 1e-4; it leaves chance in ~10 steps where the lesson's needs ~1,700):
    python benchmarks/nogan.py --threads 2 --critic encoder --out runs/bench_nogan_encoder
    # two more seeds of its GAN stage and equal-step control (generator and critic reused):
    python benchmarks/nogan.py --threads 1 --critic encoder --out runs/bench_nogan_encoder --gan-seed 0
    # (each control is compared with its GAN on Set5, BSD100 and the held-in pets)
    # the bicubic x4 SR track (native crops; scored at full resolution, slow on a CPU):
    python benchmarks/nogan.py --out runs/bench_nogan_x4 -- --degrade bicubic-x4 --size 64 \
        --arch resnet34 --no-pretrained --identity-init
    # a lesson-like crappify run with a GPU and ImageNet weights:
    python benchmarks/nogan.py --out runs/bench_nogan_gpu -- --crappify lesson --size 128 \
        --gen-epochs 2 --gen-unfreeze-epochs 3 --critic-epochs 6 --gan-epochs 10
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import torch

from lesson7.configs.flags import add_flags, from_flags
from lesson7.configs.nogan import CompareConfig, NoGANConfig
from lesson7.gan.switchers import ScheduledGANSwitcher
from lesson7.nogan.chain import gan_config, run_nogan
from lesson7.nogan.compare import compare_runs, lpips_unavailable, report_markdown
from lesson7.nogan.finetune import gan_finetune

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
if (SHARED / "weights").is_dir():  # offline LPIPS trunks, found via $LESSON7_WEIGHTS
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))
DEFAULT_FLAGS = [
    "--crappify", "lesson", "--size", "96", "--arch", "resnet34", "--no-pretrained",
    "--identity-init", "--bs", "16", "--gen-epochs", "0", "--gen-unfreeze-epochs", "3",
    "--gen-lr", "1e-3", "--critic-epochs", "60", "--critic-nf", "32", "--critic-n-blocks", "3",
    "--critic-crop", "64", "--critic-lr", "1e-3", "--gan-epochs", "12", "--gan-lr", "1e-4",
]


def default_flags(critic: str) -> list[str]:
    """The default recipe; the encoder critic fine-tunes ImageNet weights, so it gets 1e-4 (at
    1e-3 Adam wrecks them: it stays at chance, see README), sees whole 96 px images, and needs
    the lesson's 6 critic epochs, not the 60 the lesson's critic needs to leave chance here."""
    if critic == "lesson":
        return list(DEFAULT_FLAGS)
    flags = list(DEFAULT_FLAGS)
    flags[flags.index("--critic-lr") + 1] = "1e-4"
    flags[flags.index("--critic-epochs") + 1] = "6"
    i = flags.index("--critic-crop")
    del flags[i:i + 2]
    return [*flags, "--critic", "encoder"]


def chain_config(argv: list[str]) -> NoGANConfig:
    """`gan restore` flags -> NoGANConfig, with the command's own flag errors (exit 2)."""
    parser = add_flags(argparse.ArgumentParser(prog="nogan.py -- (gan restore flags)"), NoGANConfig)
    try:
        return from_flags(NoGANConfig, parser.parse_args(argv))
    except ValueError as e:
        parser.error(str(e))


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
    ap.add_argument("--control-steps", choices=["equal", "adaptive"], default="equal",
                    help="control's generator batches: the GAN run's, epoch by epoch (equal), "
                         "or whatever the lesson's switcher gives (adaptive)")
    ap.add_argument("--control-eval-hr", default=str(SHARED / "datasets" / "bsds500" / "val"),
                    help="a larger held-out set the control and the GAN are also compared on "
                         "(BSD100; Set5's five images swing either way between seeds)")
    ap.add_argument("--gan-seed", type=int, default=None,
                    help="another seed for the GAN stage and its control only (the generator and "
                         "critic of --out are reused): folders gan_seedS, control_equal_seedS")
    ap.add_argument("--critic", choices=["lesson", "encoder"], default="lesson",
                    help="critic of the default recipe: the lesson's gan_critic, or the "
                         "pretrained-encoder critic (with --critic-lr 1e-4, no crop)")
    ap.add_argument("flags", nargs=argparse.REMAINDER,
                    help="-- then `gan restore` flags replacing the defaults")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    flags = [a for a in args.flags if a != "--"] or default_flags(args.critic)
    cfg = chain_config(["--hr", args.hr, "--eval-hr", args.eval_hr, "--device", args.device,
                        "--out", args.out, *flags])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"device {args.device} (cpu: {platform.processor() or platform.machine()}, "
          f"{args.threads} threads), torch {torch.__version__}, commit {commit}")
    print(f"gan restore --hr {args.hr} --eval-hr {args.eval_hr} {' '.join(flags)}")
    why = lpips_unavailable(cfg.lpips_weights)
    if why:
        print(f"LPIPS unavailable, reported as n/a: {why}")

    t0 = time.perf_counter()
    run_nogan(cfg)
    total = time.perf_counter() - t0
    out = Path(cfg.out)
    if args.gan_seed is not None and args.gan_seed != cfg.seed:
        gan_run = out / f"gan_seed{args.gan_seed}"
        train = dataclasses.replace(gan_config(cfg, out / "generator", out / "critic", gan_run),
                                    seed=args.gan_seed)
        gan_finetune(train)  # resumes an interrupted one; a finished one is kept (nothing to do)
        print(f"GAN stage, seed {args.gan_seed}: {gan_run}")
        control(cfg, args, out, lpips=why is None, gan_run=gan_run, seed=args.gan_seed)
        return
    times = {}
    for stage in ("generator", "critic", "gan"):
        m = json.loads((out / stage / "metrics.json").read_text())
        times[stage] = sum(r.get("time") or 0.0 for r in m["history"])
    crit = json.loads((out / "critic" / "metrics.json").read_text())["accuracy_per_epoch"]
    print(f"wall {total:.0f} s (this call; stages already done are skipped); "
          f"epoch time: generator {times['generator']:.0f} s, critic {times['critic']:.0f} s "
          f"(accuracy_thresh_expand {crit}), GAN {times['gan']:.0f} s")
    print((out / "report.md").read_text())
    print("held-in images (the training HR folder):")
    compare_and_print(out / "generator", out / "gan", args.hr, out / "compare_held_in", cfg,
                      lpips=why is None)
    if args.control:
        control(cfg, args, out, lpips=why is None)


def compare_and_print(before: Path, after: Path, hr: str, dest: Path, cfg: NoGANConfig,
                      lpips: bool) -> None:
    table = compare_runs(CompareConfig(before=before, after=after, hr=Path(hr), lpips=lpips,
                                       lpips_weights=cfg.lpips_weights, device=cfg.device,
                                       out=dest))
    print(report_markdown(table, f"{before} vs {after}"))


def control(cfg: NoGANConfig, args: argparse.Namespace, out: Path, lpips: bool,
            gan_run: Path | None = None, seed: int | None = None) -> None:
    """The same GAN stage with the adversarial weight at 0: how much of the change is the
    extra pixel-loss training rather than the critic? (`gan_run`, `seed`: another seed's.)"""
    equal = args.control_steps == "equal"
    gan_run = gan_run or out / "gan"
    run = out / (("control_equal" if equal else "control_mse")
                 + (f"_seed{seed}" if seed is not None else ""))
    train = dataclasses.replace(gan_config(cfg, out / "generator", out / "critic", run),
                                weights_gen=(0.0, cfg.weights_gen[1]))
    if seed is not None:
        train = dataclasses.replace(train, seed=seed)
    metrics = run / "metrics.json"
    gan_history = json.loads((gan_run / "metrics.json").read_text())["history"]
    gan_counts = [r["gen_batches"] for r in gan_history]
    if equal and metrics.is_file() and json.loads(metrics.read_text()).get("complete"):
        counts = [r["gen_batches"] for r in json.loads(metrics.read_text())["history"]]
        if counts != gan_counts:  # the GAN run was redone since: replay its counts again
            print(f"control {run} replayed other counts ({counts}); redoing it")
            metrics.unlink()
    if not (metrics.is_file() and json.loads(metrics.read_text()).get("complete")):
        switcher = None
        if equal:
            if len({r["stage"] for r in gan_history}) != 1:
                raise SystemExit("--control-steps equal replays a one-stage GAN run; this one "
                                 "has several sizes (use --control-steps adaptive)")
            epochs = [(r["gen_batches"], r["gen_batches"] + r["critic_batches"])
                      for r in gan_history]
            switcher = ScheduledGANSwitcher(epochs)
            if run.exists():  # the replay starts at the first epoch: an interrupted one restarts
                shutil.rmtree(run)
            print(f"control: generator batches per epoch {[g for g, _ in epochs]} "
                  f"(= the GAN run's, {sum(g for g, _ in epochs)} in all)")
        gan_finetune(train, switcher=switcher)  # adaptive: resumes an interrupted control run
    done = json.loads(metrics.read_text())["history"]
    print(f"control generator batches: {sum(r['gen_batches'] for r in done)}")
    sets = (("held_out", args.eval_hr), ("held_out_bsd100", args.control_eval_hr),
            ("held_in", args.hr))
    for name, hr in sets:
        print(f"pixel-loss control (before) vs GAN (after), {name} images:")
        compare_and_print(run, gan_run, hr, out / f"compare_{run.name}_{name}", cfg, lpips)


if __name__ == "__main__":
    main()
