"""`lesson7 numbers`: train the human-numbers RNNs (Model0-5, LSTM) with the lesson's settings.

Scope: the lesson's recipe per model (bptt, epochs, LR, one-cycle ``pct_start``, wd), its loss and
metric (last token for Model0/1, every token otherwise), the two RNN callbacks (``ResetState``,
``RNNRegularizer``), one training run -> ``OUT/metrics.json``, and ``--all``, which runs the
lesson's sequence and prints our accuracy next to the recorded one.

Differences from the notebook, on purpose: Model0 includes ``h_h`` on its first step (B9, see
``lesson7.models.rnn``); validation batches have a fixed length (see ``lesson7.text.lm_loader``);
the LSTM (fastbook ``LMModel7``) is trained with fastai v2 ``TextLearner``'s momentums
(0.8, 0.7, 0.8), as fastbook was; it uses the lesson's split (train 1..8000, valid 8001..9999)
unless ``--split fastbook`` (the first 80% of the 16-token sequences of 1..9999 joined with "."),
the split fastbook's 0.87 was measured on (see benchmarks/human_numbers.py for both).
Metrics are averaged over batches weighted by rows, as fastai does; the shorter last batch
therefore weighs as much as a full one.

Refs: REFERENCE.md §2.2 (settings, recorded numbers), §5 (fastbook LSTM ≈0.87);
fastai course-v3 ``lesson7-human-numbers.ipynb``; fastbook ``12_nlp_dive.ipynb``; fastai v2
``fastai/callback/rnn.py`` (``ModelResetter``, ``RNNRegularizer``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lesson7.models.rnn import HUMAN_NUMBERS_MODELS, human_numbers_model
from lesson7.tasks.common import (
    add_common_flags,
    positive_float,
    positive_int,
    run_info,
    seed_everything,
    write_metrics,
)
from lesson7.text.lm_loader import SPLITS, human_numbers_databunch
from lesson7.train import Callback, Learner, accuracy

__all__ = [
    "RECIPES",
    "Recipe",
    "ResetState",
    "RNNRegularizer",
    "loss4",
    "acc4",
    "cross_entropy_flat",
    "train_numbers",
    "register",
    "run",
]


@dataclass(frozen=True)
class Recipe:
    """How the lesson trains one model, and what it recorded."""

    bptt: int
    """Tokens per batch: 3 for Model0/1 (three words in, the fourth out), 20 for the rest."""
    epochs: int
    lr: float
    """Peak LR of ``fit_one_cycle``."""
    pct_start: float = 0.3
    wd: float | None = None
    """Weight decay; None keeps the Learner's default (1e-2, fastai's)."""
    moms: tuple[float, float, float] = (0.95, 0.85, 0.95)
    """One-cycle momentum (Adam beta1) start / middle / end: fastai's default, except that
    fastai v2's ``TextLearner`` (which fastbook's LMModel7 is trained with) uses (0.8, 0.7, 0.8)."""
    last_token: bool = False
    """Score only the last position (``loss4`` / ``acc4``), as Model0/1 predict one token."""
    reference_acc: float | None = None
    """The recorded final accuracy: course-v3 HEAD (REFERENCE §2.2), fastbook for the LSTM."""


RECIPES: dict[str, Recipe] = {
    "0": Recipe(bptt=3, epochs=6, lr=1e-4, last_token=True, reference_acc=0.408778),
    "1": Recipe(bptt=3, epochs=6, lr=1e-4, last_token=True, reference_acc=0.393153),
    "2": Recipe(bptt=20, epochs=10, lr=1e-4, pct_start=0.1, reference_acc=0.349787),
    "3": Recipe(bptt=20, epochs=20, lr=3e-3, reference_acc=0.442827),
    "4": Recipe(bptt=20, epochs=20, lr=3e-3, reference_acc=0.614702),
    "5": Recipe(bptt=20, epochs=10, lr=1e-2, reference_acc=0.807102),
    # fastbook LMModel7: sl=16, TextLearner (moms 0.8/0.7/0.8), fit_one_cycle(15, 1e-2, wd=0.1),
    # 86.9% final (87.4% peak)
    "lstm": Recipe(bptt=16, epochs=15, lr=1e-2, wd=0.1, moms=(0.8, 0.7, 0.8), reference_acc=0.869),
}
assert set(RECIPES) == set(HUMAN_NUMBERS_MODELS)


# -- loss and metrics ----------------------------------------------------------------------
def loss4(pred: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy on the last position only: ``pred`` (B, V), ``target`` (B, T)."""
    return F.cross_entropy(pred, target[:, -1])


def acc4(pred: Tensor, target: Tensor) -> Tensor:
    """Accuracy on the last position only (the lesson's metric for Model0/1)."""
    return accuracy(pred, target[:, -1])


def cross_entropy_flat(pred: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy over every position: ``pred`` (B, T, V), ``target`` (B, T)."""
    return F.cross_entropy(pred.flatten(0, 1), target.flatten())  # (B*T, V) vs (B*T,)


# -- callbacks -----------------------------------------------------------------------------
class ResetState(Callback):
    """Zero a stateful model's hidden state before training and before validation.

    The train and valid streams are different texts: a state carried from the end of one into
    the other would be noise (fastai's ``ModelResetter``).
    """

    order = 0

    def before_train(self, learn: Learner) -> None:
        _reset(learn.model)

    def before_validate(self, learn: Learner) -> None:
        _reset(learn.model)


def _reset(model: torch.nn.Module) -> None:
    if callable(getattr(model, "reset", None)):
        model.reset()


class RNNRegularizer(Callback):
    """Activation (AR) and temporal activation (TAR) regularisation, added to the training loss.

    AR, ``alpha * mean(dropped_out²)``, keeps activations small; TAR,
    ``beta * mean((h_t - h_{t-1})²)`` on the output before dropout, keeps them from jumping
    between steps (Merity et al. 2017, arXiv:1708.02182, §4.6). The model exposes ``raw_out``
    and ``dropped_out`` (``LSTMModel``).
    Runs after the Recorder (order 90), so ``train_loss`` stays the plain cross-entropy.
    """

    order = 91

    def __init__(self, alpha: float = 2.0, beta: float = 1.0) -> None:
        self.alpha, self.beta = alpha, beta

    def after_loss(self, learn: Learner) -> None:
        raw = getattr(learn.model, "raw_out", None)
        dropped = getattr(learn.model, "dropped_out", None)
        if not learn.training or raw is None or dropped is None:
            return
        learn.loss = learn.loss + self.alpha * dropped.float().pow(2).mean()
        if raw.shape[1] > 1:
            learn.loss = learn.loss + self.beta * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()


# -- one run -------------------------------------------------------------------------------
def train_numbers(model_name: str, out: str | Path = "runs/numbers", epochs: int | None = None,
                  lr: float | None = None, bs: int = 64, bptt: int | None = None, seed: int = 0,
                  data_dir: str | Path | None = None, device: str = "auto",
                  random_bptt: bool = False, split: str = "lesson",
                  printer: Any = print) -> dict[str, Any]:
    """Train one model with the lesson's recipe (overridable) and write ``out/metrics.json``.

    Returns the metrics dict: ``{"task", "model", "final": {"accuracy", "valid_loss"}, "history",
    "train_wall_s", "settings", "reference_accuracy"}``.
    """
    if model_name not in RECIPES:
        raise ValueError(f"--model must be one of {list(RECIPES)}, got {model_name!r}")
    recipe = RECIPES[model_name]
    epochs = recipe.epochs if epochs is None else epochs
    lr = recipe.lr if lr is None else lr
    bptt = recipe.bptt if bptt is None else bptt
    _check_settings(model_name, epochs, lr, bs, bptt)

    seed_everything(seed)
    data = human_numbers_databunch(data_dir, bs=bs, bptt=bptt, random_bptt=random_bptt, seed=seed,
                                   split=split)
    model = human_numbers_model(model_name, len(data.vocab))
    loss_fn, metric = (loss4, acc4) if recipe.last_token else (cross_entropy_flat, accuracy)
    cbs: list[Callback] = [ResetState()]
    if model_name == "lstm":
        cbs.append(RNNRegularizer(alpha=2.0, beta=1.0))  # fastbook's values
    out = Path(out)
    learn = Learner(model, data, loss_fn, metrics=[metric], lr=lr, cbs=cbs, path=out,
                    device=device, progress=False)
    learn.recorder.printer = printer

    t0 = time.perf_counter()
    learn.fit_one_cycle(epochs, lr, pct_start=recipe.pct_start, wd=recipe.wd, moms=recipe.moms)
    wall = time.perf_counter() - t0

    last = learn.recorder.history[-1]
    settings = {**asdict(recipe), "epochs": epochs, "lr": lr, "bptt": bptt, "bs": bs, "seed": seed,
                "random_bptt": random_bptt, "split": split, "device": str(learn.device),
                "metric": metric.__name__}
    settings.pop("reference_acc")
    metrics = {
        "task": "numbers",
        "model": model_name,
        "final": {"accuracy": last[metric.__name__], "valid_loss": last["valid_loss"]},
        "history": learn.recorder.history,
        "train_wall_s": wall,
        "settings": settings,
        "reference_accuracy": recipe.reference_acc,
        "vocab_size": len(data.vocab),
        **run_info(learn.device),
    }
    learn.save("model", with_opt=False, arch=model_name, vocab=data.vocab.itos)
    write_metrics(out, metrics)
    return metrics


def _check_settings(model_name: str, epochs: int, lr: float, bs: int, bptt: int) -> None:
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")
    if lr <= 0:
        raise ValueError(f"--lr must be > 0, got {lr}")
    if bs < 1:
        raise ValueError(f"--bs must be >= 1, got {bs}")
    if bptt < 1:
        raise ValueError(f"--bptt must be >= 1, got {bptt}")
    if model_name == "0" and bptt > 3:
        raise ValueError(f"--bptt must be 1..3 for --model 0 (three words by hand), got {bptt}")


# -- CLI -----------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``lesson7 numbers`` to the CLI."""
    p = subparsers.add_parser(
        "numbers", help="human-numbers RNNs from scratch (Model0-5, LSTM)",
        description="Train the lesson's human-numbers language models with its settings: "
                    + "; ".join(f"{k}: bptt {r.bptt}, {r.epochs} ep, lr {r.lr:g}"
                                for k, r in RECIPES.items()))
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", choices=list(RECIPES), help="which model to train")
    which.add_argument("--all", action="store_true",
                       help="train every model in the lesson's order; print ours vs the lesson's")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs (default: the lesson's)")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="peak one-cycle LR (default: the lesson's)")
    p.add_argument("--bs", type=positive_int, default=64,
                   help="batch size = contiguous rows (default 64)")
    p.add_argument("--bptt", type=positive_int, default=None,
                   help="tokens per batch (default: the lesson's)")
    p.add_argument("--random-bptt", action="store_true",
                   help="fastai's randomised bptt for training batches (validation stays fixed)")
    p.add_argument("--split", choices=SPLITS, default="lesson",
                   help="lesson: train 1..8000 / valid 8001..9999 (default); fastbook: the first "
                        "80%% of the bptt-token sequences of 1..9999 train, the rest valid")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="corpus folder (default $LESSON7_DATA/human_numbers or "
                        "~/.cache/lesson7/human_numbers); written if missing")
    add_common_flags(p, "numbers")  # --out (runs/numbers), --device, --seed
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train one model (``--model``) or the lesson's sequence (``--all``); exit code 0."""
    common = dict(epochs=args.epochs, lr=args.lr, bs=args.bs, bptt=args.bptt, seed=args.seed,
                  data_dir=args.data_dir, device=args.device, random_bptt=args.random_bptt,
                  split=args.split)
    if not args.all:
        m = train_numbers(args.model, out=args.out, **common)
        print(f"model {m['model']}: {m['settings']['metric']} {m['final']['accuracy']:.4f}, "
              f"valid_loss {m['final']['valid_loss']:.4f} (lesson: {m['reference_accuracy']}); "
              f"wrote {Path(args.out) / 'metrics.json'}")
        return 0
    runs = {}
    for name in RECIPES:
        print(f"\n== model {name} ==")
        runs[name] = train_numbers(name, out=Path(args.out) / f"model_{name}", **common)
    print("\n" + comparison_table(runs))
    write_metrics(Path(args.out), {
        "task": "numbers", "model": "all",
        "final": {k: m["final"] for k, m in runs.items()},
        "reference_accuracy": {k: m["reference_accuracy"] for k, m in runs.items()},
        "train_wall_s": sum(m["train_wall_s"] for m in runs.values()),
    })
    return 0


def comparison_table(runs: dict[str, dict[str, Any]]) -> str:
    """One line per model: our final accuracy next to the recorded one."""
    header = ("model", "metric", "ours", "lesson", "valid_loss", "s/epoch")
    lines = ["{:<6} {:<9} {:>7} {:>7} {:>10} {:>8}".format(*header)]
    for name, m in runs.items():
        ref = m["reference_accuracy"]
        per_epoch = m["train_wall_s"] / len(m["history"])
        lines.append(f"{name:<6} {m['settings']['metric']:<9} {m['final']['accuracy']:>7.4f} "
                     f"{(f'{ref:.4f}' if ref is not None else '-'):>7} "
                     f"{m['final']['valid_loss']:>10.4f} {per_epoch:>8.2f}")
    lines.append("lesson: course-v3 HEAD recorded final accuracy (REFERENCE §2.2); lstm: fastbook "
                 "LMModel7 (on --split fastbook). Run-to-run spread is about ±0.1 (REFERENCE §4.6).")
    return "\n".join(lines)
