"""`train_mnist(cfg)`: the lesson's MNIST notebook (`lesson7-resnet-mnist.ipynb`).

mnist_png folder -> greyscale ImageList split by folder (training/testing), labelled by folder
-> rand_pad(3) + crop 28 on train -> bs 128, normalised from one batch -> one of the lesson's
models -> fit_one_cycle -> table, metrics.json, loss plot, show_batch PNG, checkpoint.
A NaN/inf loss or weights stop training (FloatingPointError) before anything is saved; a
finished model in --out is replaced only by the same settings or with --overwrite.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from lesson7.configs.mnist import MnistConfig
from lesson7.data import ImageList, rand_pad, resolve_dataset
from lesson7.models.mnist import MNIST_MODELS
from lesson7.runs import RunFolder, config_dict, run_info
from lesson7.train import Callback, Learner, TerminateOnNaN, accuracy
from lesson7.train import distributed as ddp
from lesson7.train.seed import seed_everything

__all__ = ["train_mnist", "load_mnist", "find_mnist_root", "RUN_SETTINGS"]

# Fields that define the trained model: a finished one is kept unless they match (or --overwrite).
RUN_SETTINGS = ("model", "epochs", "lr", "bs", "data", "seed")


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


def train_mnist(cfg: MnistConfig, printer=print, cbs: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train one model as the lesson does; write the run folder; return metrics.json's content.

    `cbs` are extra callbacks for the one-cycle fit (e.g. to record the learning rates).
    """
    from lesson7.train.learner import pick_device

    device = pick_device(cfg.device)  # an unusable --device fails before the data is read
    run = RunFolder(cfg.out)
    settings = {k: v for k, v in config_dict(cfg).items() if k in RUN_SETTINGS}
    run.remove_partial_files()  # left by a killed run
    done = run.finished_run(settings, overwrite=cfg.overwrite, config_cls=type(cfg))
    if done is not None:
        printer(f"{run.path} already holds the finished run of these settings "
                f"({run / 'model.safetensors'}); nothing to do (--overwrite trains it again)")
        return done
    seed_everything(cfg.seed)
    data = load_mnist(cfg)
    model = MNIST_MODELS[cfg.model]()
    learn = Learner(model, data, nn.CrossEntropyLoss(), metrics=[accuracy], path=run.path,
                    device=device)
    if ddp.is_main():
        run.write_config(cfg)
        data.show_batch(rows=3, path=run / "show_batch.png")
    suggested = learn.lr_find(end_lr=100) if cfg.lr_find else None
    if suggested is not None:
        printer(f"lr_find suggests {suggested:.2e} (plot: {run / 'lr_find.png'})")
    n_params = sum(p.numel() for p in model.parameters())
    printer(f"{cfg.model}: {n_params:,} parameters, {cfg.epochs} epochs, max lr {cfg.lr}, "
            f"{len(data.train_dl.dataset):,} train / {len(data.valid_dl.dataset):,} valid images")
    t0 = time.perf_counter()
    # NaN check every 50 batches (a host sync each time) and at each epoch's end
    learn.fit_one_cycle(cfg.epochs, cfg.lr, cbs=[TerminateOnNaN(every=50), *cbs])
    train_wall_s = time.perf_counter() - t0
    learn.recorder.plot_loss(run / "loss.png")
    ckpt = learn.save("model", task="mnist", model=cfg.model, epoch=cfg.epochs, run=settings)
    final = learn.recorder.history[-1]
    metrics = {
        "task": "mnist", "model": cfg.model, "params": n_params, "epochs": cfg.epochs,
        "lr": cfg.lr, "bs": cfg.bs,
        "final": {k: final[k] for k in ("accuracy", "valid_loss", "train_loss")},
        "history": learn.recorder.history, "train_wall_s": train_wall_s,
        "lr_find_suggestion": suggested, "checkpoint": str(ckpt), **run_info(learn.device),
    }
    if ddp.is_main():
        run.write_metrics(metrics)
    return metrics
