"""`lesson7 gan critic | train | restore | compare`: the super-resolution GAN, NoGAN style
(`lesson7-superres-gan.ipynb`; DeOldify).

critic: pretrain the lesson's critic on generated vs real folders.
train: GAN fine-tuning of a `restore train` generator against that critic; OUT is a restore run
folder too (`lesson7 restore predict OUT`), and resumes after an interruption.
restore: the whole chain from HR images, each stage skipped when its output exists, ending with
PSNR / SSIM / LPIPS before vs after the GAN.
compare: that before/after table for any two restore-format runs.
"""

from __future__ import annotations

import argparse

from lesson7.configs.nogan import CompareConfig, CriticConfig, GANTrainConfig, NoGANConfig
from lesson7.tasks import add_command, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser("gan", help="the super-resolution GAN (NoGAN stages)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="gan_cmd", required=True, metavar="{critic,train,restore,compare}")
    add_command(sub, "critic", CriticConfig, critic,
                "pretrain the critic on generated vs real folders", "gan critic")
    add_command(sub, "train", GANTrainConfig, train,
                "GAN fine-tuning from a generator run and a critic run", "gan train")
    add_command(sub, "restore", NoGANConfig, restore,
                "the whole NoGAN chain from a folder of HR images", "gan restore")
    add_command(sub, "compare", CompareConfig, compare,
                "PSNR/SSIM/LPIPS of two restore runs side by side", "gan compare")


def critic(cfg: CriticConfig) -> int:
    from lesson7.nogan.critic import pretrain_critic

    metrics = pretrain_critic(cfg)
    print(f"critic accuracy_thresh_expand per epoch: {metrics['accuracy_per_epoch']}")
    print_report(cfg.out)
    return 0


def train(cfg: GANTrainConfig) -> int:
    from lesson7.nogan.finetune import gan_finetune

    metrics = gan_finetune(cfg)
    last = metrics["final"]
    print(f"GAN done: {len(metrics['history'])} epochs; last epoch gen_loss "
          f"{last.get('gen_loss')}, critic_loss {last.get('critic_loss')}; generator in "
          f"{cfg.out / 'model.safetensors'} (restore predict/eval take {cfg.out})")
    print_report(cfg.out)
    return 0


def restore(cfg: NoGANConfig) -> int:
    from lesson7.nogan.chain import run_nogan
    from lesson7.nogan.compare import report_markdown

    print(report_markdown(run_nogan(cfg)))
    print_report(cfg.out)
    return 0


def compare(cfg: CompareConfig) -> int:
    from lesson7.nogan.compare import compare_runs, report_markdown

    print(report_markdown(compare_runs(cfg), f"{cfg.before} vs {cfg.after}"))
    return 0
