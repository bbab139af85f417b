"""`lesson7 gan critic | train | restore | compare`: the super-resolution GAN, NoGAN style.

    lesson7 gan critic --fake DIR --real DIR [--size 128] [--crop N] [--bs 16] [--epochs 6]
                       [--out DIR]
    lesson7 gan train --generator RUN --critic RUN [--size 128[,192]] [--epochs 40[,10]]
                      [--lr 1e-4[,5e-5]] [--bs 32] [--weights-gen 1,50] [--out DIR]
    lesson7 gan restore --hr DIR [--crappify MODE | --degrade bicubic-xN] [--size 128] [--out DIR]
    lesson7 gan compare --before RUN --after RUN --hr DIR [--eval-size N] [--out DIR]

critic (REFERENCE §2.3 step 3): gan_critic, AdaptiveLoss(BCE), accuracy_thresh_expand per
epoch (lesson: 0.976 after 6 epochs at 128 px), wd 1e-3, fit_one_cycle(epochs, lr). Writes
`critic.safetensors` (+ .json), `config.json` and `metrics.json` ({"history",
"accuracy_per_epoch"}) to --out (default runs/gan_critic).
train (step 4-5): GAN fine-tuning of a `restore train` generator against that critic at a
constant LR, sizes in turn; OUT is a restore run folder too (`lesson7 restore predict OUT`),
resumes after an interruption (`lesson7.gan.finetune`).
restore: the whole chain from HR images, each stage skipped when its output exists, ending
with PSNR / SSIM / LPIPS before vs after the GAN (`lesson7.gan.chain`).
compare: that before/after table for any two restore-format runs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from lesson7.gan.nogan import FolderPairs, check_critic_crop, critic_learner, pretrain_critic
from lesson7.models.critic import min_input_size
from lesson7.train.checkpoint import atomic_write_json

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class CriticConfig:
    fake: str
    real: str
    size: int = 128
    bs: int = 16
    epochs: int = 6
    lr: float = 1e-3
    nf: int = 128
    n_blocks: int = 3
    device: str = "auto"
    out: str = "runs/gan_critic"
    native: bool = False
    """Centre crops at native resolution instead of resizing (bicubic SR track)."""
    crop: int | None = None
    """Train on random crop x crop windows of the size x size images (valid: whole images)."""

    def __post_init__(self) -> None:
        for flag, folder in (("--fake", self.fake), ("--real", self.real)):
            if not Path(folder).is_dir():
                raise ValueError(f"{flag} must be an image folder, got {folder!r}")
        if self.size < min_input_size(self.n_blocks):
            raise ValueError(f"--size {self.size} is too small for {self.n_blocks} critic blocks; "
                             f"use --size >= {min_input_size(self.n_blocks)} or fewer --n-blocks")
        check_critic_crop(self.crop, self.size, self.n_blocks, "--crop")
        for flag, v in (("--bs", self.bs), ("--epochs", self.epochs)):
            if v < 1:
                raise ValueError(f"{flag} must be >= 1, got {v}")


def _imagenet_norm(t):
    import torch

    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (t - mean) / std


def train_critic(cfg: CriticConfig) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", asdict(cfg))
    data = FolderPairs(Path(cfg.fake), Path(cfg.real), cfg.size, cfg.bs, norm=_imagenet_norm,
                       native=cfg.native, crop=cfg.crop)
    learn = critic_learner(data, nf=cfg.nf, n_blocks=cfg.n_blocks, path=out, device=cfg.device)
    accs = pretrain_critic(learn, cfg.epochs, cfg.lr)
    learn.save("critic", with_opt=False, task="gan-critic", n_channels=3, nf=cfg.nf,
               n_blocks=cfg.n_blocks, size=cfg.size)
    metrics = {"history": learn.recorder.history, "accuracy_per_epoch": accs}
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def _floats(text: str) -> list[float]:
    return [float(v) for v in str(text).split(",") if v.strip()]


def _ints(text: str) -> list[int]:
    return [int(v) for v in str(text).split(",") if v.strip()]


def _list_type(convert, what: str):
    def parse(text: str):
        try:
            values = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} separated by commas, got "
                                             f"{text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return values
    return parse


def _add_gan_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights-gen", type=_list_type(_floats, "two numbers"), default=[1.0, 50.0],
                   help="generator loss weights: adversarial,pixel (default 1,50; the lecture: "
                        "50-200 work well; DeOldify 1,1.5 with feature loss)")
    p.add_argument("--critic-thresh", type=float, default=0.65,
                   help="the critic trains until its batch loss < this (default 0.65)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--seed", type=int, default=42)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gan", help="the super-resolution GAN (NoGAN stages)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="gan_cmd", required=True)
    c = sub.add_parser("critic", help="pretrain the critic on generated vs real folders")
    c.add_argument("--fake", required=True, help="folder of generated images (image_gen)")
    c.add_argument("--real", required=True, help="folder of real images")
    c.add_argument("--size", type=int, default=128, help="image size (default 128)")
    c.add_argument("--bs", type=int, default=16)
    c.add_argument("--epochs", type=int, default=6, help="epochs (default 6, the lesson's)")
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--nf", type=int, default=128, help="critic width (default 128)")
    c.add_argument("--n-blocks", type=int, default=3, help="critic down blocks (default 3)")
    c.add_argument("--native-crops", action="store_true",
                   help="centre crops at native resolution instead of resizing (bicubic track)")
    c.add_argument("--crop", type=int, default=None,
                   help="train on random crops of this size (default: whole images); cheaper, "
                        "and more views per image")
    c.add_argument("--device", default="auto")
    c.add_argument("--out", default="runs/gan_critic")
    c.set_defaults(func=run, _parser=c)

    t = sub.add_parser("train", help="GAN fine-tuning from a generator run and a critic run")
    t.add_argument("--generator", required=True,
                   help="run folder of `lesson7 restore train` (or of an earlier gan train)")
    t.add_argument("--critic", required=True, help="run folder of `lesson7 gan critic`")
    t.add_argument("--size", type=_list_type(_ints, "sizes"), default=[128],
                   help="size(s) in turn, e.g. 128,192 (progressive resizing; default 128)")
    t.add_argument("--epochs", type=_list_type(_ints, "integers"), default=[40],
                   help="epochs per size (default 40, the lesson's; the lesson adds 10 at 192)")
    t.add_argument("--lr", type=_list_type(_floats, "numbers"), default=[1e-4],
                   help="constant LR per size (default 1e-4; lesson at 192: 5e-5)")
    t.add_argument("--bs", type=int, default=32, help="batch size at the first size (default 32)")
    t.add_argument("--mult-lr", type=float, default=5.0, help="critic LR multiplier (default 5)")
    t.add_argument("--wd", type=float, default=1e-3)
    t.add_argument("--keep-every", type=int, default=0,
                   help="also keep the generator of every N-th epoch in OUT/snapshots "
                        "(DeOldify picks the best by eye)")
    t.add_argument("--hr", default=None, help="train on these HR images (with --lowres) instead "
                   "of the generator run's data")
    t.add_argument("--lowres", default=None, help="degraded inputs paired with --hr")
    _add_gan_flags(t)
    t.add_argument("--out", default="runs/gan")
    t.set_defaults(func=run, _parser=t)

    r = sub.add_parser("restore", help="the whole NoGAN chain from a folder of HR images")
    r.add_argument("--hr", required=True, help="folder of high-quality images")
    how = r.add_mutually_exclusive_group()
    how.add_argument("--crappify", default=None,
                     help="crappify mode making the inputs (default lesson)")
    how.add_argument("--degrade", default=None,
                     help="or the bicubic SR track: bicubic-x2, -x3, -x4 (native crops)")
    r.add_argument("--size", type=int, default=128)
    r.add_argument("--arch", default="resnet34")
    r.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True)
    r.add_argument("--encoder-weights", default=None,
                   help="encoder weights file, e.g. ../shared/weights/vgg16_features.safetensors "
                        "with --arch vgg16")
    r.add_argument("--self-attention", action=argparse.BooleanOptionalAction, default=True)
    r.add_argument("--identity-init", action="store_true",
                   help="generator starts as the identity, no y_range (see restore train)")
    r.add_argument("--bs", type=int, default=32)
    r.add_argument("--gen-epochs", type=int, default=2, help="frozen generator epochs (2)")
    r.add_argument("--gen-unfreeze-epochs", type=int, default=3, help="unfrozen ones (3)")
    r.add_argument("--gen-lr", type=float, default=1e-3)
    r.add_argument("--critic-epochs", type=int, default=6)
    r.add_argument("--critic-lr", type=float, default=1e-3)
    r.add_argument("--critic-nf", type=int, default=128)
    r.add_argument("--critic-n-blocks", type=int, default=3)
    r.add_argument("--critic-crop", type=int, default=None,
                   help="critic pretraining on random crops of this size (see gan critic --crop)")
    r.add_argument("--gan-epochs", type=int, default=40)
    r.add_argument("--gan-lr", type=float, default=1e-4)
    r.add_argument("--eval-hr", default=None,
                   help="images for the before/after report (default: --hr, held-in)")
    r.add_argument("--lpips-weights", default=None, help="AlexNet trunk for LPIPS")
    r.add_argument("--workers", type=int, default=None)
    _add_gan_flags(r)
    r.add_argument("--out", default="runs/gan_restore")
    r.set_defaults(func=run, _parser=r)

    m = sub.add_parser("compare", help="PSNR/SSIM/LPIPS of two restore runs side by side")
    m.add_argument("--before", required=True, help="run folder before the GAN (the generator)")
    m.add_argument("--after", required=True, help="run folder after the GAN")
    m.add_argument("--hr", required=True, help="folder of clean images to score on")
    m.add_argument("--eval-size", type=int, default=None,
                   help="HR short side (default: the --after run's training size)")
    m.add_argument("--lpips-weights", default=None)
    m.add_argument("--device", default="auto")
    m.add_argument("--out", default=None, help="default: AFTER/compare_<hr folder>")
    m.set_defaults(func=run, _parser=m)


def run(args: argparse.Namespace) -> int:
    cmd = {"critic": run_critic, "train": run_train, "restore": run_restore,
           "compare": run_compare}[args.gan_cmd]
    try:
        return cmd(args)
    except FloatingPointError as e:  # NaN/inf: the last good epoch is on disk
        print(f"lesson7 gan {args.gan_cmd}: stopped: {e}", file=sys.stderr)
        return 1


def run_critic(args: argparse.Namespace) -> int:
    try:
        cfg = CriticConfig(fake=args.fake, real=args.real, size=args.size, bs=args.bs,
                           epochs=args.epochs, lr=args.lr, nf=args.nf, n_blocks=args.n_blocks,
                           device=args.device, out=args.out, native=args.native_crops,
                           crop=args.crop)
    except ValueError as e:
        args._parser.error(str(e))
    metrics = train_critic(cfg)
    print(f"critic accuracy_thresh_expand per epoch: {metrics['accuracy_per_epoch']}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from lesson7.gan.finetune import GANTrainConfig, finetune

    try:
        cfg = GANTrainConfig(generator=args.generator, critic=args.critic, out=args.out,
                             sizes=args.size, epochs=args.epochs, lrs=args.lr, bs=args.bs,
                             weights_gen=tuple(args.weights_gen), critic_thresh=args.critic_thresh,
                             mult_lr=args.mult_lr, wd=args.wd, keep_every=args.keep_every,
                             hr=args.hr, lowres=args.lowres, device=args.device, seed=args.seed)
    except ValueError as e:
        args._parser.error(str(e))
    metrics = finetune(cfg)
    last = metrics["final"]
    print(f"GAN done: {len(metrics['history'])} epochs; last epoch gen_loss "
          f"{last.get('gen_loss')}, critic_loss {last.get('critic_loss')}; generator in "
          f"{Path(args.out) / 'model.safetensors'} (restore predict/eval take {args.out})")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from lesson7.gan.chain import ChainConfig, report_markdown, run_chain

    try:
        cfg = ChainConfig(hr=args.hr, crappify=args.crappify, degrade=args.degrade,
                          size=args.size, out=args.out,
                          arch=args.arch, pretrained=args.pretrained,
                          encoder_weights=args.encoder_weights, self_attention=args.self_attention,
                          identity_init=args.identity_init,
                          bs=args.bs, gen_epochs=args.gen_epochs,
                          gen_unfreeze_epochs=args.gen_unfreeze_epochs, gen_lr=args.gen_lr,
                          critic_epochs=args.critic_epochs, critic_lr=args.critic_lr,
                          critic_nf=args.critic_nf, critic_n_blocks=args.critic_n_blocks,
                          critic_crop=args.critic_crop,
                          gan_epochs=args.gan_epochs, gan_lr=args.gan_lr,
                          weights_gen=tuple(args.weights_gen), critic_thresh=args.critic_thresh,
                          eval_hr=args.eval_hr, lpips_weights=args.lpips_weights,
                          device=args.device, seed=args.seed, workers=args.workers)
    except ValueError as e:
        args._parser.error(str(e))
    print(report_markdown(run_chain(cfg)))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from lesson7.gan.chain import compare, evaluate_run, report_markdown
    from lesson7.restore.restorer import resolve_checkpoint
    from lesson7.train.checkpoint import read_metadata

    for run_dir in (args.before, args.after):
        resolve_checkpoint(run_dir)  # a ValueError naming the folder if there is no model
    if not Path(args.hr).is_dir():
        args._parser.error(f"--hr must be a folder of images, got {args.hr!r}")
    meta = read_metadata(resolve_checkpoint(args.after))
    bicubic = str(meta.get("degrade", "")).startswith("bicubic")  # scored at full size
    size = None if bicubic else (args.eval_size or meta.get("train_size"))
    out = Path(args.out) if args.out else Path(args.after) / f"compare_{Path(args.hr).name}"
    opts = argparse.Namespace(device=args.device, lpips_weights=args.lpips_weights)
    before = evaluate_run(Path(args.before), args.hr, size, out / "before", opts)
    after = evaluate_run(Path(args.after), args.hr, size, out / "after", opts)
    table = compare(before, after)
    atomic_write_json(out / "metrics.json", table)
    text = report_markdown(table, f"{args.before} vs {args.after}")
    (out / "report.md").write_text(text)
    print(text)
    return 0
