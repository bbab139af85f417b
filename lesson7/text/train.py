"""`train_numbers(cfg)`: the human-numbers RNNs (Model0-5, LSTM) with the lesson's settings.

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

Refs: fastai course-v3 ``lesson7-human-numbers.ipynb`` (settings, recorded numbers); fastbook
``12_nlp_dive.ipynb``; fastai v2 ``fastai/callback/rnn.py`` (``ModelResetter``, ``RNNRegularizer``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from lesson7.configs.numbers import NumbersConfig
from lesson7.models.rnn import HUMAN_NUMBERS_MODELS, human_numbers_model
from lesson7.runs import RunFolder, run_info
from lesson7.text.callbacks import ResetState, RNNRegularizer
from lesson7.text.lm_loader import human_numbers_databunch
from lesson7.train import Callback, Learner, accuracy
from lesson7.train.seed import seed_everything

__all__ = [
    "RECIPES",
    "Recipe",
    "loss4",
    "acc4",
    "cross_entropy_flat",
    "train_numbers",
    "comparison_table",
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
    """The recorded final accuracy: course-v3 ``lesson7-human-numbers.ipynb``, fastbook for the LSTM."""


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


# -- one run -------------------------------------------------------------------------------
def train_numbers(cfg: NumbersConfig, printer: Any = print,
                  cbs: Sequence[Callback] = ()) -> dict[str, Any]:
    """Train ``cfg.model`` with the lesson's recipe (overridable) into ``cfg.out``; with
    ``cfg.all``, every model in the lesson's order into ``cfg.out/model_<name>``.

    ``cbs`` are extra callbacks for each fit (e.g. to record the learning rates).
    Returns the metrics dict: ``{"task", "model", "final": {"accuracy", "valid_loss"}, "history",
    "train_wall_s", "settings", "reference_accuracy"}`` (with ``all``: ``"runs"`` per model).
    """
    from lesson7.train.learner import pick_device

    pick_device(cfg.device)  # an unusable --device fails before the corpus is written
    if not cfg.all:
        return _train_one(cfg.model, cfg, cfg.out, printer, cbs)
    runs = {}
    for name in RECIPES:
        printer(f"\n== model {name} ==")
        runs[name] = _train_one(name, cfg, cfg.out / f"model_{name}", printer, cbs)
    printer("\n" + comparison_table(runs))
    metrics = {"task": "numbers", "model": "all",
               "final": {k: m["final"] for k, m in runs.items()},
               "reference_accuracy": {k: m["reference_accuracy"] for k, m in runs.items()},
               "train_wall_s": sum(m["train_wall_s"] for m in runs.values()), "runs": runs}
    RunFolder(cfg.out).write_metrics({k: v for k, v in metrics.items() if k != "runs"})
    return metrics


def _train_one(model_name: str, cfg: NumbersConfig, out: Path, printer: Any,
               extra_cbs: Sequence[Callback]) -> dict[str, Any]:
    """One model, one run folder (the settings were validated by NumbersConfig)."""
    recipe = RECIPES[model_name]
    epochs = recipe.epochs if cfg.epochs is None else cfg.epochs
    lr = recipe.lr if cfg.lr is None else cfg.lr
    bptt = recipe.bptt if cfg.bptt is None else cfg.bptt
    bs, seed = cfg.bs, cfg.seed

    seed_everything(seed)
    data = human_numbers_databunch(cfg.data_dir, bs=bs, bptt=bptt, random_bptt=cfg.random_bptt,
                                   seed=seed, split=cfg.split)
    model = human_numbers_model(model_name, len(data.vocab))
    loss_fn, metric = (loss4, acc4) if recipe.last_token else (cross_entropy_flat, accuracy)
    cbs: list[Callback] = [ResetState()]
    if model_name == "lstm":
        cbs.append(RNNRegularizer(alpha=2.0, beta=1.0))  # fastbook's values
    run = RunFolder(out)
    run.write_config(dataclasses.replace(cfg, model=model_name, all=False, out=run.path))
    learn = Learner(model, data, loss_fn, metrics=[metric], lr=lr, cbs=cbs, path=run.path,
                    device=cfg.device, progress=False)
    learn.recorder.printer = printer

    t0 = time.perf_counter()
    learn.fit_one_cycle(epochs, lr, pct_start=recipe.pct_start, wd=recipe.wd, moms=recipe.moms,
                        cbs=extra_cbs)
    wall = time.perf_counter() - t0

    last = learn.recorder.history[-1]
    settings = {**asdict(recipe), "epochs": epochs, "lr": lr, "bptt": bptt, "bs": bs, "seed": seed,
                "random_bptt": cfg.random_bptt, "split": cfg.split, "device": str(learn.device),
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
    metrics["samples"] = sample_predictions(learn.model, data, recipe.last_token)
    learn.save("model", with_opt=False, arch=model_name, vocab=data.vocab.itos)
    run.write_metrics(metrics)
    return metrics


def sample_predictions(model: Any, data: Any, last_token: bool, n: int = 5) -> list[str]:
    """The first `n` rows of a validation batch as text: the words the model read, the true next
    word and the model's guess (the lesson's `learn.predict` made readable). Stateful models
    start these rows from a zero state, so a guess can be weaker than during validation."""
    import torch

    model.eval()
    if hasattr(model, "reset"):
        model.reset()
    xb, yb = data.one_batch(valid=True)
    with torch.no_grad():
        pred = model(xb.to(next(model.parameters()).device)).argmax(-1).cpu()  # (B,) or (B, T)
    if hasattr(model, "reset"):
        model.reset()
    itos = data.vocab.itos
    lines = []
    for i in range(min(n, len(xb))):
        guess = pred[i] if last_token else pred[i, -1]
        truth = yb[i, -1]
        mark = "right" if int(guess) == int(truth) else "wrong"
        lines.append(f"{' '.join(itos[t] for t in xb[i].tolist())} -> next: \"{itos[int(truth)]}\", "
                     f"predicted: \"{itos[int(guess)]}\" ({mark})")
    return lines


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
    lines.append("lesson: final accuracy recorded in course-v3 lesson7-human-numbers.ipynb; lstm: fastbook "
                 "LMModel7 (on --split fastbook). Seed-to-seed spread: see benchmarks/README.md.")
    return "\n".join(lines)
