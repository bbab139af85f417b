"""`lesson7 gan critic`: pretrain the lesson's patch critic on {generated, real} image folders.

    lesson7 gan critic --fake DIR --real DIR [--size 128] [--bs 16] [--epochs 6] [--out DIR]

The NoGAN critic stage (REFERENCE §2.3 step 3): gan_critic, AdaptiveLoss(BCE),
accuracy_thresh_expand per epoch (lesson: 0.976 after 6 epochs at 128 px), wd 1e-3,
fit_one_cycle(epochs, lr). Writes `critic.safetensors` (+ .json), `config.json` and
`metrics.json` ({"history", "accuracy_per_epoch"}) to --out (default runs/gan_critic).
Not done yet: `gan train` and `gan restore` (they need the restoration run folder).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

from lesson7.gan.nogan import FolderPairs, critic_learner, pretrain_critic
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

    def __post_init__(self) -> None:
        for flag, folder in (("--fake", self.fake), ("--real", self.real)):
            if not Path(folder).is_dir():
                raise ValueError(f"{flag} must be an image folder, got {folder!r}")
        if self.size // 2 ** (self.n_blocks + 1) < 4:
            raise ValueError(f"--size {self.size} is too small for {self.n_blocks} critic blocks; "
                             f"use --size >= {4 * 2 ** (self.n_blocks + 1)} or fewer --n-blocks")
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
    data = FolderPairs(Path(cfg.fake), Path(cfg.real), cfg.size, cfg.bs, norm=_imagenet_norm)
    learn = critic_learner(data, nf=cfg.nf, n_blocks=cfg.n_blocks, path=out, device=cfg.device)
    accs = pretrain_critic(learn, cfg.epochs, cfg.lr)
    learn.save("critic", with_opt=False, nf=cfg.nf, n_blocks=cfg.n_blocks, size=cfg.size)
    metrics = {"history": learn.recorder.history, "accuracy_per_epoch": accs}
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


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
    c.add_argument("--device", default="auto")
    c.add_argument("--out", default="runs/gan_critic")
    c.set_defaults(func=run, _parser=c)


def run(args: argparse.Namespace) -> int:
    try:
        cfg = CriticConfig(fake=args.fake, real=args.real, size=args.size, bs=args.bs,
                           epochs=args.epochs, lr=args.lr, nf=args.nf, n_blocks=args.n_blocks,
                           device=args.device, out=args.out)
    except ValueError as e:
        args._parser.error(str(e))
    metrics = train_critic(cfg)
    print(f"critic accuracy_thresh_expand per epoch: {metrics['accuracy_per_epoch']}")
    return 0
