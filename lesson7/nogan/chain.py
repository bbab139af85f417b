"""The whole NoGAN chain from a folder of high-quality images, stage by stage, resumable.

    OUT/generator/   1. generator pretrain      (`lesson7 restore train`, pixel MSE)
    OUT/image_gen/   2. its predictions         (`save_preds`, one PNG per training input)
    OUT/critic/      3. critic pretrain         (`lesson7 gan critic`: image_gen vs the HR images)
    OUT/gan/         4. GAN fine-tune           (`lesson7 gan train`)
    OUT/eval/        5. before vs after         (`lesson7 restore eval` on both generators)
    OUT/report.md, OUT/metrics.json: PSNR, SSIM and LPIPS side by side

Each stage is skipped when its output exists (generator: model.safetensors; predictions: one
per input; critic: critic.safetensors; GAN: metrics.json with "complete"; eval: metrics.json),
so re-running the command after an interruption continues where it stopped; the GAN stage
itself resumes at the next epoch (`lesson7.gan.finetune`).
The stages call the same functions as the separate commands; this module only chains them.
Refs: REFERENCE §2.3 and §5 (DeOldify NoGAN).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lesson7.gan.finetune import GANTrainConfig, finetune, load_generator, run_pairs
from lesson7.gan.nogan import check_critic_crop, pred_path, save_preds
from lesson7.models.critic import min_input_size
from lesson7.train.checkpoint import atomic_write_json, atomic_write_text

COMPARED = ("psnr", "psnr_y", "ssim", "lpips")
LOWER_IS_BETTER = {"lpips"}


@dataclass
class ChainConfig:
    """`lesson7 gan restore`: defaults are the lesson's (REFERENCE §2.3)."""

    hr: str
    """Folder of high-quality images."""
    crappify: str | None = None
    """How the inputs are made from --hr (a `lesson7 crappify` mode; default lesson)."""
    degrade: str | None = None
    """Or the bicubic SR track (bicubic-x2/x3/x4): native-resolution crops throughout."""
    size: int = 128
    out: str = "runs/gan_restore"
    # generator (restore train)
    arch: str = "resnet34"
    pretrained: bool = True
    encoder_weights: str | None = None
    self_attention: bool = True
    identity_init: bool = False
    """Generator starts as the identity on its input (no y_range): `restore train --identity-init`."""
    bs: int = 32
    gen_epochs: int = 2
    """Frozen one-cycle epochs of the generator."""
    gen_unfreeze_epochs: int = 3
    gen_lr: float = 1e-3
    # critic (gan critic)
    critic_epochs: int = 6
    critic_lr: float = 1e-3
    critic_nf: int = 128
    critic_n_blocks: int = 3
    critic_crop: int | None = None
    """Critic pretraining on random crops of this size (`gan critic --crop`)."""
    # GAN (gan train)
    gan_epochs: int = 40
    gan_lr: float = 1e-4
    weights_gen: tuple[float, float] = (1.0, 50.0)
    critic_thresh: float = 0.65
    # evaluation (restore eval)
    eval_hr: str | None = None
    """Images to score before vs after (default: --hr itself, i.e. held-in images)."""
    lpips_weights: str | None = None
    device: str = "auto"
    seed: int = 42
    workers: int | None = None

    def __post_init__(self) -> None:
        from lesson7.data.crappify import CRAPPIFIERS
        from lesson7.data.pairs import DEGRADE_SCALES

        if self.crappify is not None and self.degrade is not None:
            raise ValueError("give --crappify MODE or --degrade bicubic-xN, not both")
        if self.degrade is None:
            self.crappify = self.crappify or "lesson"
            if self.crappify not in CRAPPIFIERS:
                raise ValueError(f"unknown --crappify {self.crappify!r}; choose from "
                                 f"{sorted(CRAPPIFIERS)}")
        elif self.degrade not in DEGRADE_SCALES:
            raise ValueError(f"unknown --degrade {self.degrade!r}; choose from "
                             f"{sorted(DEGRADE_SCALES)}")
        if not Path(self.hr).is_dir():
            raise ValueError(f"--hr must be a folder of images, got {self.hr!r}")
        if self.eval_hr is not None and not Path(self.eval_hr).is_dir():
            raise ValueError(f"--eval-hr must be a folder of images, got {self.eval_hr!r}")
        if self.size < min_input_size(self.critic_n_blocks):
            raise ValueError(f"--size {self.size} is too small for {self.critic_n_blocks} critic "
                             f"blocks; use --size >= {min_input_size(self.critic_n_blocks)} or "
                             "fewer --critic-n-blocks")
        check_critic_crop(self.critic_crop, self.size, self.critic_n_blocks, "--critic-crop")
        if len(self.weights_gen) != 2 or min(self.weights_gen) < 0:
            raise ValueError(f"--weights-gen must be two numbers >= 0, got {self.weights_gen}")
        for flag, v in (("--bs", self.bs), ("--critic-epochs", self.critic_epochs),
                        ("--gan-epochs", self.gan_epochs)):
            if v < 1:
                raise ValueError(f"{flag} must be >= 1, got {v}")


def _say(step: int, name: str, msg: str) -> None:
    print(f"[{step}/5] {name}: {msg}", flush=True)


def _parse(add_arguments: Any, argv: list[str]) -> argparse.Namespace:
    """Flags for another command, parsed by that command's own parser (so its defaults hold)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


# -- the stages ------------------------------------------------------------------------------------
def pretrain_generator(cfg: ChainConfig, out: Path) -> None:
    from lesson7.tasks import restore

    source = ["--degrade", cfg.degrade] if cfg.degrade else ["--crappify", cfg.crappify]
    argv = ["--hr", cfg.hr, *source, "--arch", cfg.arch,
            "--size", cfg.size, "--bs", cfg.bs, "--epochs", cfg.gen_epochs,
            "--unfreeze-epochs", cfg.gen_unfreeze_epochs, "--lr", cfg.gen_lr, "--loss", "mse",
            "--seed", cfg.seed, "--out", out, "--device", cfg.device,
            "--pretrained" if cfg.pretrained else "--no-pretrained",
            "--self-attention" if cfg.self_attention else "--no-self-attention"]
    if cfg.encoder_weights is not None:
        argv += ["--encoder-weights", cfg.encoder_weights]
    if cfg.identity_init:
        argv += ["--identity-init"]
    if cfg.workers is not None:
        argv += ["--workers", cfg.workers]
    restore.train(_parse(restore.add_train_arguments, argv))


def generated_set(cfg: ChainConfig, gen_run: Path, dest: Path) -> tuple[int, int]:
    """Write the generator's prediction for every input; returns (written, total)."""
    from lesson7.train.learner import pick_device

    pairs, _ = run_pairs(gen_run)
    inputs = [lr for lr, _ in pairs]
    src_root = Path(_common_root(inputs))
    device = pick_device(cfg.device)
    generator, unet_cfg, _ = load_generator(gen_run, device)
    mean, std = _stats(unet_cfg)
    written = save_preds(generator, inputs, src_root, dest, bs=cfg.bs, size=cfg.size,
                         norm=lambda t: (t - mean) / std, denorm=lambda t: t * std + mean,
                         device=device, progress=False, native=cfg.degrade is not None)
    return written, len(inputs)


def _stats(unet_cfg: Any):
    import torch

    mean = torch.tensor(unet_cfg.mean).view(1, -1, 1, 1)
    std = torch.tensor(unet_cfg.std).view(1, -1, 1, 1)
    return mean, std


def _common_root(paths: list[Path]) -> str:
    import os

    return os.path.commonpath([str(p.parent) for p in paths])


def _all_preds_exist(gen_run: Path, dest: Path) -> bool:
    if not dest.is_dir():
        return False
    inputs = [lr for lr, _ in run_pairs(gen_run)[0]]
    root = Path(_common_root(inputs))
    return all(pred_path(p, root, dest).is_file() for p in inputs)


def pretrain_critic_stage(cfg: ChainConfig, fake: Path, out: Path) -> None:
    from lesson7.tasks.gan import CriticConfig, train_critic

    train_critic(CriticConfig(fake=str(fake), real=cfg.hr, size=cfg.size, bs=cfg.bs,
                              epochs=cfg.critic_epochs, lr=cfg.critic_lr, nf=cfg.critic_nf,
                              n_blocks=cfg.critic_n_blocks, device=cfg.device, out=str(out),
                              native=cfg.degrade is not None, crop=cfg.critic_crop))


def evaluate_run(run: Path, hr: str, eval_size: int | None, out: Path, cfg: Any) -> dict:
    """`lesson7 restore eval RUN --hr HR [--eval-size N] --out OUT`; returns its metrics.json.

    `cfg` supplies `device` and `lpips_weights`."""
    from lesson7.tasks import restore

    argv = [run, "--hr", hr, "--out", out, "--device", cfg.device]
    if eval_size is not None:
        argv += ["--eval-size", eval_size]
    if cfg.lpips_weights is not None:
        argv += ["--lpips-weights", cfg.lpips_weights]
    restore.eval_run(_parse(restore.add_eval_arguments, argv))
    return json.loads((out / "metrics.json").read_text())


# -- the report ----------------------------------------------------------------------
def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Side by side: the degraded input, the generator before and after the GAN, and the change."""
    rows = {}
    for m in COMPARED:
        b, a = before["model"][m], after["model"][m]
        rows[m] = {"input": before["baseline"][m], "before_gan": b, "after_gan": a,
                   "change": a - b, "better": (a < b) if m in LOWER_IS_BETTER else (a > b)}
    return {"metrics": rows, "n_images": before["n_images"], "degrade": before["degrade"],
            "eval_size": before.get("eval_size"), "notes": before.get("metric_notes")}


def report_markdown(table: dict[str, Any], title: str = "Generator before vs after the GAN stage"
                    ) -> str:
    where = (f"short side {table['eval_size']} px" if table["eval_size"]
             else "full resolution, borders shaved")
    lines = [f"# {title}", "",
             f"{table['n_images']} images, degradation `{table['degrade']}`, scored at {where} "
             f"({table['notes']}).", "",
             "| metric | degraded input | before GAN | after GAN | change |",
             "|---|---|---|---|---|"]
    for m, r in table["metrics"].items():
        arrow = "lower is better" if m in LOWER_IS_BETTER else "higher is better"
        lines.append(f"| {m} ({arrow}) | {r['input']:.4f} | {r['before_gan']:.4f} | "
                     f"{r['after_gan']:.4f} | {r['change']:+.4f} |")
    return "\n".join(lines) + "\n"


# -- the chain -----------------------------------------------------------------------
def run_chain(cfg: ChainConfig) -> dict[str, Any]:
    """Run every stage that has no output yet; returns the before/after comparison."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "chain_config.json", asdict(cfg))
    gen_run, image_gen, critic_run, gan_run = (out / "generator", out / "image_gen",
                                               out / "critic", out / "gan")

    if (gen_run / "model.safetensors").is_file():
        _say(1, "generator", f"skipped ({gen_run / 'model.safetensors'} exists)")
    else:
        _say(1, "generator", "pretraining (restore train)")
        pretrain_generator(cfg, gen_run)

    if _all_preds_exist(gen_run, image_gen):
        _say(2, "predictions", f"skipped (every prediction is in {image_gen})")
    else:
        written, total = generated_set(cfg, gen_run, image_gen)
        _say(2, "predictions", f"{written} written, {total - written} already there")

    if (critic_run / "critic.safetensors").is_file():
        _say(3, "critic", f"skipped ({critic_run / 'critic.safetensors'} exists)")
    else:
        _say(3, "critic", "pretraining on generated vs real")
        pretrain_critic_stage(cfg, image_gen, critic_run)

    gan_metrics = gan_run / "metrics.json"
    if gan_metrics.is_file() and json.loads(gan_metrics.read_text()).get("complete"):
        _say(4, "GAN", f"skipped ({gan_metrics} says complete)")
    else:
        _say(4, "GAN", "fine-tuning (resumes if interrupted)")
        finetune(GANTrainConfig(generator=str(gen_run), critic=str(critic_run), out=str(gan_run),
                                sizes=[cfg.size], epochs=[cfg.gan_epochs], lrs=[cfg.gan_lr],
                                bs=cfg.bs, weights_gen=cfg.weights_gen,
                                critic_thresh=cfg.critic_thresh, device=cfg.device,
                                seed=cfg.seed))

    eval_hr = cfg.eval_hr or cfg.hr
    results = {}
    for name, run in (("before_gan", gen_run), ("after_gan", gan_run)):
        dest = out / "eval" / name
        if (dest / "metrics.json").is_file():
            _say(5, f"eval {name}", f"skipped ({dest / 'metrics.json'} exists)")
            results[name] = json.loads((dest / "metrics.json").read_text())
        else:
            _say(5, f"eval {name}", f"restore eval on {eval_hr}")
            size = None if cfg.degrade else cfg.size  # bicubic track: full-size images
            results[name] = evaluate_run(run, eval_hr, size, dest, cfg)
    table = compare(results["before_gan"], results["after_gan"])
    table["eval_hr"] = eval_hr
    table["held_in"] = Path(eval_hr).resolve() == Path(cfg.hr).resolve()
    atomic_write_json(out / "metrics.json", table)
    atomic_write_text(out / "report.md", report_markdown(table))
    return table
