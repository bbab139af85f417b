"""`run_nogan(cfg)`: the whole NoGAN chain from a folder of high-quality images, resumable.

    OUT/generator/   1. generator pretrain      (`train_restorer`, pixel MSE)
    OUT/image_gen/   2. its predictions         (`save_preds`, one PNG per training input)
    OUT/critic/      3. critic pretrain         (`pretrain_critic`: image_gen vs the HR images)
    OUT/gan/         4. GAN fine-tune           (`gan_finetune`)
    OUT/eval/        5. before vs after         (`evaluate_restorer` on both generators)
    OUT/report.md, OUT/metrics.json: PSNR, SSIM and LPIPS side by side

Each stage is skipped when its output exists (generator: model.safetensors; predictions: one
per input; critic: critic.safetensors; GAN: metrics.json with "complete"; eval: metrics.json),
so rerunning after an interruption continues where it stopped; the stages themselves resume
mid-way (`lesson7.runs`). The stages are the library functions of the separate commands.
Refs: lesson7-superres-gan.ipynb; DeOldify's NoGAN, https://www.fast.ai/posts/2019-05-03-decrappify.html.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lesson7.configs.nogan import CriticConfig, GANTrainConfig, NoGANConfig
from lesson7.configs.restore import RestoreTrainConfig
from lesson7.files import atomic_write_json, atomic_write_text
from lesson7.nogan.compare import compare, evaluate_run, report_markdown
from lesson7.nogan.preds import pred_path
from lesson7.quality.lpips_metric import lpips_unavailable
from lesson7.runs import RunFolder

__all__ = ["run_nogan", "generator_config", "critic_config", "gan_config"]


def _say(step: int, name: str, msg: str) -> None:
    print(f"[{step}/5] {name}: {msg}", flush=True)


# -- each stage's config, from the chain's --------------------------------------------------------
def generator_config(cfg: NoGANConfig, out: Path) -> RestoreTrainConfig:
    """Stage 1: `restore train` with a pixel MSE loss."""
    return RestoreTrainConfig(
        hr=[cfg.hr], crappify=None if cfg.degrade else cfg.crappify, degrade=cfg.degrade,
        arch=cfg.arch, pretrained=cfg.pretrained, encoder_weights=cfg.encoder_weights,
        self_attention=cfg.self_attention, identity_init=cfg.identity_init, loss="mse",
        size=[cfg.size], bs=cfg.bs, epochs=cfg.gen_epochs, unfreeze_epochs=cfg.gen_unfreeze_epochs,
        lr=cfg.gen_lr, workers=cfg.workers, out=out, device=cfg.device, seed=cfg.seed)


def critic_config(cfg: NoGANConfig, fake: Path, out: Path) -> CriticConfig:
    """Stage 3: `gan critic` on the generator's predictions vs the HR images."""
    return CriticConfig(arch=cfg.critic_arch, fake=fake, real=cfg.hr, size=cfg.size, bs=cfg.bs,
                        epochs=cfg.critic_epochs,
                        lr=cfg.critic_lr, nf=cfg.critic_nf, n_blocks=cfg.critic_n_blocks,
                        native=cfg.degrade is not None, crop=cfg.critic_crop, out=out,
                        device=cfg.device, seed=cfg.seed)


def gan_config(cfg: NoGANConfig, generator: Path, critic: Path, out: Path) -> GANTrainConfig:
    """Stage 4: `gan train` at one size and a constant LR."""
    return GANTrainConfig(generator=generator, critic=critic, sizes=[cfg.size],
                          epochs=[cfg.gan_epochs], lrs=[cfg.gan_lr], bs=cfg.bs,
                          weights_gen=cfg.weights_gen, critic_thresh=cfg.critic_thresh, out=out,
                          device=cfg.device, seed=cfg.seed)


# -- stage 2 ---------------------------------------------------------------------------------------
def _inputs(gen_run: Path) -> tuple[list[Path], Path]:
    from lesson7.nogan.finetune import run_pairs

    inputs = [lr for lr, _ in run_pairs(gen_run)[0]]
    return inputs, Path(os.path.commonpath([str(p.parent) for p in inputs]))


def generated_set(cfg: NoGANConfig, gen_run: Path, dest: Path) -> tuple[int, int]:
    """Write the generator's prediction for every input; returns (written, total)."""
    import torch

    from lesson7.nogan.finetune import load_generator
    from lesson7.nogan.preds import save_preds
    from lesson7.train.learner import pick_device

    inputs, src_root = _inputs(gen_run)
    device = pick_device(cfg.device)
    generator, unet_cfg, _ = load_generator(gen_run, device)
    mean = torch.tensor(unet_cfg.mean).view(1, -1, 1, 1)
    std = torch.tensor(unet_cfg.std).view(1, -1, 1, 1)
    written = save_preds(generator, inputs, src_root, dest, bs=cfg.bs, size=cfg.size,
                         norm=lambda t: (t - mean) / std, denorm=lambda t: t * std + mean,
                         device=device, progress=False, native=cfg.degrade is not None)
    return written, len(inputs)


def _all_preds_exist(gen_run: Path, dest: Path) -> bool:
    if not dest.is_dir():
        return False
    inputs, root = _inputs(gen_run)
    return all(pred_path(p, root, dest).is_file() for p in inputs)


# -- the chain -------------------------------------------------------------------------------------
def run_nogan(cfg: NoGANConfig) -> dict[str, Any]:
    """Run every stage that has no output yet; returns the before/after comparison."""
    from lesson7.nogan.critic import pretrain_critic
    from lesson7.nogan.finetune import gan_finetune
    from lesson7.restore.train import train_restorer
    from lesson7.train.learner import pick_device

    pick_device(cfg.device)  # an unusable --device fails before any work
    run = RunFolder(cfg.out)
    run.write_config(cfg)
    gen_run, image_gen, critic_run, gan_run = (run / "generator", run / "image_gen",
                                               run / "critic", run / "gan")

    if (gen_run / "model.safetensors").is_file():
        _say(1, "generator", f"skipped ({gen_run / 'model.safetensors'} exists)")
    else:
        _say(1, "generator", "pretraining (restore train)")
        train_restorer(generator_config(cfg, gen_run))

    if _all_preds_exist(gen_run, image_gen):
        _say(2, "predictions", f"skipped (every prediction is in {image_gen})")
    else:
        written, total = generated_set(cfg, gen_run, image_gen)
        _say(2, "predictions", f"{written} written, {total - written} already there")

    if (critic_run / "critic.safetensors").is_file():
        _say(3, "critic", f"skipped ({critic_run / 'critic.safetensors'} exists)")
    else:
        _say(3, "critic", "pretraining on generated vs real")
        pretrain_critic(critic_config(cfg, image_gen, critic_run))

    gan_metrics = gan_run / "metrics.json"
    if gan_metrics.is_file() and json.loads(gan_metrics.read_text()).get("complete"):
        _say(4, "GAN", f"skipped ({gan_metrics} says complete)")
    else:
        _say(4, "GAN", "fine-tuning (resumes if interrupted)")
        gan_finetune(gan_config(cfg, gen_run, critic_run, gan_run))

    eval_hr = Path(cfg.eval_hr or cfg.hr)
    results, lpips = {}, None
    for name, stage_run in (("before_gan", gen_run), ("after_gan", gan_run)):
        dest = run / "eval" / name
        if (dest / "metrics.json").is_file():
            _say(5, f"eval {name}", f"skipped ({dest / 'metrics.json'} exists)")
            results[name] = json.loads((dest / "metrics.json").read_text())
        else:
            if lpips is None:  # looked up once; without a trunk the report says n/a
                why = lpips_unavailable(cfg.lpips_weights)
                lpips = why is None
                if why:
                    print(f"LPIPS unavailable ({why}); reported as n/a")
            _say(5, f"eval {name}", f"restore eval on {eval_hr}")
            size = None if cfg.degrade else cfg.size  # bicubic track: full-size images
            results[name] = evaluate_run(stage_run, eval_hr, size, dest, cfg.device,
                                         lpips=lpips, lpips_weights=cfg.lpips_weights)
    table = compare(results["before_gan"], results["after_gan"])
    table["eval_hr"] = str(eval_hr)
    table["held_in"] = eval_hr.resolve() == Path(cfg.hr).resolve()
    atomic_write_json(run / "metrics.json", table)
    atomic_write_text(run / "report.md", report_markdown(table))
    return table

