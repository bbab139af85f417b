"""`lesson7 mnist`: the lesson's MNIST notebook (`lesson7-resnet-mnist`, REFERENCE §2.1).

mnist_png folder -> greyscale ImageList split by folder (training/testing), labelled by folder
-> rand_pad(3) + crop 28 on train -> bs 128, normalised from one batch -> one of the lesson's
models -> fit_one_cycle -> table, metrics.json, loss plot, show_batch PNG, checkpoint.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

from lesson7.data import ImageList, rand_pad, resolve_dataset
from lesson7.models.mnist import MNIST_MODELS
from lesson7.tasks.common import (
    Timer,
    add_common_flags,
    positive_float,
    positive_int,
    run_info,
    seed_everything,
    write_metrics,
)
from lesson7.train import Learner, accuracy, atomic_write_json
from lesson7.train import distributed as ddp

# The lesson's schedule per model: (epochs, max LR). REFERENCE §2.1.
DEFAULTS = {"basic": (3, 0.1), "refactor": (10, 0.1), "resnet": (12, 0.05)}


@dataclass
class MnistConfig:
    model: str = "resnet"
    """Which of the lesson's models: basic, refactor or resnet."""
    epochs: int | None = None
    """Epochs of one-cycle training (default: the lesson's, 3 / 10 / 12)."""
    lr: float | None = None
    """Max learning rate (default: the lesson's, 0.1 / 0.1 / 0.05)."""
    bs: int = 128
    data: str = "mnist_png"
    """mnist_png folder, its .tgz, or a registry name."""
    out: Path = Path("runs/mnist")
    device: str = "auto"
    seed: int = 42
    lr_find: bool = False
    """Run the LR finder first (the lesson does, with end_lr=100) and save lr_find.png."""

    def __post_init__(self) -> None:
        if self.model not in MNIST_MODELS:
            raise ValueError(f"--model must be one of {sorted(MNIST_MODELS)}, got {self.model!r}")
        epochs, lr = DEFAULTS[self.model]
        self.epochs = epochs if self.epochs is None else self.epochs
        self.lr = lr if self.lr is None else self.lr


def find_mnist_root(path: Path) -> Path:
    """The folder holding training/ and testing/ (archives usually wrap it in mnist_png/)."""
    for candidate in (path, path / "mnist_png", *sorted(p for p in path.iterdir() if p.is_dir())):
        if (candidate / "training").is_dir() and (candidate / "testing").is_dir():
            return candidate
    raise ValueError(f"{path} is not an mnist_png folder: expected training/ and testing/ "
                     "sub-folders with one folder per digit")


def load_mnist(cfg: MnistConfig, device: str = "cpu"):
    """The lesson's data block: greyscale, split by folder, label by folder, rand_pad(3)."""
    root = find_mnist_root(resolve_dataset(cfg.data))
    return (ImageList.from_folder(root, convert_mode="L")
            .split_by_folder(train="training", valid="testing")
            .label_from_folder()
            .transform(rand_pad(3, size=28), [])
            .databunch(bs=cfg.bs, device=device, seed=cfg.seed)
            .normalize())


def train_mnist(cfg: MnistConfig, printer=print) -> dict[str, Any]:
    """Train one model as the lesson does; write the run folder; return metrics.json's content."""
    seed_everything(cfg.seed)
    data = load_mnist(cfg)
    model = MNIST_MODELS[cfg.model]()
    learn = Learner(model, data, nn.CrossEntropyLoss(), metrics=[accuracy], path=cfg.out,
                    device=cfg.device)
    if ddp.is_main():
        cfg.out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cfg.out / "config.json", asdict(cfg))
        data.show_batch(rows=3, path=cfg.out / "show_batch.png")
    suggested = learn.lr_find(end_lr=100) if cfg.lr_find else None
    if suggested is not None:
        printer(f"lr_find suggests {suggested:.2e} (plot: {cfg.out / 'lr_find.png'})")
    n_params = sum(p.numel() for p in model.parameters())
    printer(f"{cfg.model}: {n_params:,} parameters, {cfg.epochs} epochs, max lr {cfg.lr}, "
            f"{len(data.train_dl.dataset):,} train / {len(data.valid_dl.dataset):,} valid images")
    with Timer() as t:
        learn.fit_one_cycle(cfg.epochs, cfg.lr)
    learn.recorder.plot_loss(cfg.out / "loss.png")
    ckpt = learn.save("model", task="mnist", model=cfg.model, epoch=cfg.epochs)
    final = learn.recorder.history[-1]
    metrics = {
        "task": "mnist", "model": cfg.model, "params": n_params, "epochs": cfg.epochs,
        "lr": cfg.lr, "bs": cfg.bs,
        "final": {k: final[k] for k in ("accuracy", "valid_loss", "train_loss")},
        "history": learn.recorder.history, "train_wall_s": t.seconds,
        "lr_find_suggestion": suggested, "checkpoint": str(ckpt), **run_info(learn.device),
    }
    write_metrics(cfg.out, metrics)
    return metrics


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mnist", help="train the lesson's MNIST CNN / ResNet",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MNIST_MODELS), default="resnet",
                   help="basic (3 ep, lr 0.1), refactor (10 ep, lr 0.1) or resnet (12 ep, lr 0.05)")
    p.add_argument("--epochs", type=positive_int, default=None, help="default: the lesson's")
    p.add_argument("--lr", type=positive_float, default=None, help="max LR; default: the lesson's")
    p.add_argument("--bs", type=positive_int, default=128, help="batch size (default 128)")
    p.add_argument("--data", default="mnist_png",
                   help="mnist_png folder or .tgz (default: the dataset registry / cache)")
    p.add_argument("--lr-find", action="store_true", help="run the LR finder first")
    add_common_flags(p, "mnist")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = MnistConfig(model=args.model, epochs=args.epochs, lr=args.lr, bs=args.bs,
                      data=args.data, out=args.out, device=args.device, seed=args.seed,
                      lr_find=args.lr_find)
    m = train_mnist(cfg)
    print(f"accuracy {m['final']['accuracy']:.4f} in {m['train_wall_s']:.0f} s; "
          f"results in {cfg.out}/ (metrics.json, loss.png, show_batch.png, model.safetensors)")
    return 0
