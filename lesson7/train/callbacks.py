"""Callbacks: one feature each, ordered, taking `learn` (STYLE H6).

Recorder (losses, metrics, the epoch table), ParamScheduler (LR and momentum per batch),
MixedPrecision (bf16 autocast on CUDA), ProgressBar, LRFinder, TerminateOnNaN, SaveEveryEpoch,
TimeBudget (stop at a wall-clock limit), WallClockCycle (schedules spread over a wall-clock budget).
Refs: fastai v1 `basic_train.py` / `callbacks/`; miniai `learner.py`.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

from lesson7.train import distributed as ddp
from lesson7.train.optim import set_hyper
from lesson7.train.schedules import Schedule, exp_sched

if TYPE_CHECKING:
    from lesson7.train.learner import Learner


class CancelFit(Exception):
    """Stop training now (after_fit is skipped, cleanup_fit still runs)."""


class CancelEpoch(Exception):
    """Skip the rest of this epoch."""


class CancelBatch(Exception):
    """Skip the rest of this batch (e.g. no optimizer step)."""


class Callback:
    """Base class: implement any of the Learner's EVENTS as `def event(self, learn)`."""

    order: int = 0


def fmt_time(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m:02d}:{s:02d}"


class Recorder(Callback):
    """Averages losses and metrics per epoch (on the device: no per-batch host sync), keeps the
    history, prints the lesson's table on rank 0, and plots the losses."""

    order = 90

    def __init__(self, metrics: Sequence = (), printer=print) -> None:
        self.metrics = list(metrics)
        self.printer = printer
        self.history: list[dict[str, Any]] = []
        self.batch_losses: list[float] = []
        self.lrs: list[float] = []
        self._printed_header = False

    @property
    def metric_names(self) -> list[str]:
        return [getattr(m, "__name__", type(m).__name__) for m in self.metrics]

    def before_fit(self, learn: Learner) -> None:
        self._printed_header = False

    def before_epoch(self, learn: Learner) -> None:
        self.t0 = time.perf_counter()

    def before_train(self, learn: Learner) -> None:
        self._train = []

    def before_validate(self, learn: Learner) -> None:
        self._sums = None

    def after_loss(self, learn: Learner) -> None:
        bs = _batch_size(learn.yb)
        if learn.training:
            self._train.append(learn.loss.detach().float())
            self.lrs.append(learn.opt.param_groups[-1]["lr"])
            return
        with torch.no_grad():
            vals = [learn.loss.detach().float()] + [m(learn.pred, learn.yb).float() for m in self.metrics]
            row = torch.stack(vals) * bs
            row = torch.cat([row, row.new_tensor([bs])])
            self._sums = row if self._sums is None else self._sums + row

    def after_train(self, learn: Learner) -> None:
        losses = torch.stack(self._train) if self._train else torch.zeros(1)
        losses = losses.cpu()
        self.batch_losses += losses.tolist()
        mean = ddp.all_reduce_sum(losses.mean().to(learn.device)) / ddp.world_size()
        learn.log["train_loss"] = mean.item()

    def after_validate(self, learn: Learner) -> None:
        if self._sums is None:
            return
        sums = ddp.all_reduce_sum(self._sums).cpu()  # every rank gets the same averages
        avgs = (sums[:-1] / sums[-1]).tolist()
        learn.log["valid_loss"] = avgs[0]
        for name, v in zip(self.metric_names, avgs[1:], strict=True):
            learn.log[name] = v

    def after_epoch(self, learn: Learner) -> None:
        row = {"epoch": learn.epoch, **learn.log, "time": time.perf_counter() - self.t0}
        self.history.append(row)
        if ddp.is_main() and self.printer is not None:
            if not self._printed_header:
                self.printer("  ".join(f"{k:<10}" for k in row))
                self._printed_header = True
            self.printer("  ".join(_fmt(k, v) for k, v in row.items()))

    def plot_loss(self, path: str | Path) -> Path | None:
        """Save train (per batch) and valid (per epoch) losses as a PNG (rank 0 only)."""
        if not ddp.is_main():
            return None
        fig, ax = new_figure()
        ax.plot(self.batch_losses, label="train (per batch)", alpha=0.7)
        n = len(self.batch_losses)
        valid = [(i, h["valid_loss"]) for i, h in enumerate(self.history) if "valid_loss" in h]
        if valid and self.history:
            per_epoch = n / len(self.history)
            ax.plot([per_epoch * (i + 1) for i, _ in valid], [v for _, v in valid], "o-", label="valid")
        ax.set_xlabel("batch")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.legend()
        save_figure(fig, path)
        return Path(path)


def new_figure():
    """A matplotlib figure on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4))


def save_figure(fig, path: str | Path) -> None:
    """Write `fig` as a PNG atomically, then free it."""
    import matplotlib.pyplot as plt

    from lesson7.train.checkpoint import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def _fmt(key: str, v: Any) -> str:
    if key == "time":
        return f"{fmt_time(v):<10}"
    if isinstance(v, float):
        return f"{v:<10.6f}"
    return f"{v!s:<10}"


def _batch_size(yb: Any) -> int:
    if isinstance(yb, torch.Tensor):
        return yb.shape[0]
    if isinstance(yb, (list, tuple)) and yb:
        return _batch_size(yb[0])
    return 1


class ParamScheduler(Callback):
    """Before each training batch, write each hyper-parameter's schedule value at `pct_train`.

    `scheds` maps a name ("lr", "mom", "weight_decay") to one schedule per layer group.
    """

    order = 10

    def __init__(self, scheds: dict[str, list[Schedule]]) -> None:
        self.scheds = scheds

    def before_batch(self, learn: Learner) -> None:
        if learn.training:
            for name, fs in self.scheds.items():
                set_hyper(learn.opt, name, [f(learn.pct_train) for f in fs])


class MixedPrecision(Callback):
    """bf16 autocast on CUDA for the forward pass and the loss (no loss scaling needed with bf16)."""

    order = 5

    def before_batch(self, learn: Learner) -> None:
        self.ctx = torch.autocast("cuda", dtype=torch.bfloat16)
        self.ctx.__enter__()

    def after_loss(self, learn: Learner) -> None:
        self._exit()

    def cleanup_batch(self, learn: Learner) -> None:
        self._exit()

    def _exit(self) -> None:
        if getattr(self, "ctx", None) is not None:
            self.ctx.__exit__(None, None, None)
            self.ctx = None


class ProgressBar(Callback):
    """A tqdm bar over the batches; silent when stdout is not a terminal or on ranks > 0."""

    order = 95

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stdout.isatty() if enabled is None else enabled

    def _on(self) -> bool:
        return self.enabled and ddp.is_main()

    def before_train(self, learn: Learner) -> None:
        self._open(learn, f"epoch {learn.epoch + 1}/{learn.n_epochs} train")

    def before_validate(self, learn: Learner) -> None:
        self._open(learn, "valid")

    def _open(self, learn: Learner, desc: str) -> None:
        self.bar = tqdm(total=len(learn.dl), desc=desc, leave=False) if self._on() else None

    def after_batch(self, learn: Learner) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def after_train(self, learn: Learner) -> None:
        self._close()

    def after_validate(self, learn: Learner) -> None:
        self._close()

    def _close(self) -> None:
        if getattr(self, "bar", None) is not None:
            self.bar.close()
            self.bar = None


class TerminateOnNaN(Callback):
    """Stop with a FloatingPointError when training goes non-finite: a training loss (checked
    every `every` batches, so the host syncs rarely), or at the end of an epoch its losses or
    the weights. The epoch check runs before `SaveEveryEpoch` (order 99), so a NaN epoch never
    replaces the last good resume point."""

    order = 15

    def __init__(self, every: int = 1) -> None:
        self.every = every

    def after_loss(self, learn: Learner) -> None:
        if learn.training and learn.iter % self.every == 0 and not torch.isfinite(learn.loss).item():
            raise FloatingPointError(
                f"loss became {learn.loss.item()} at epoch {learn.epoch}, batch {learn.iter}; "
                "training stopped (lower the learning rate?), nothing saved from this epoch")

    def after_epoch(self, learn: Learner) -> None:
        losses = {k: v for k, v in learn.log.items() if k.endswith("loss")
                  and isinstance(v, float) and not math.isfinite(v)}
        weights = [n for n, p in learn.model.state_dict().items()
                   if p.is_floating_point() and not torch.isfinite(p).all()]
        if losses or weights:
            what = (", ".join(f"{k} {v}" for k, v in losses.items()) if losses
                    else f"non-finite weights ({', '.join(weights[:3])})")
            raise FloatingPointError(
                f"{what} after epoch {learn.epoch}; training stopped (lower the learning rate?), "
                "nothing saved from this epoch")


class LRFinder(Callback):
    """Sweep the LR exponentially from start_lr to end_lr; stop when the loss explodes
    (Smith 2015, arXiv:1506.01186; fastai v1 `lr_find`)."""

    order = 20

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                 beta: float = 0.98) -> None:
        self.sched = exp_sched(start_lr, end_lr)
        self.num_it, self.beta = num_it, beta
        self.lrs: list[float] = []
        self.losses: list[float] = []

    def before_fit(self, learn: Learner) -> None:
        self.i, self.avg, self.best = 0, 0.0, math.inf

    def before_batch(self, learn: Learner) -> None:
        if not learn.training:
            raise CancelEpoch  # no validation during the sweep
        lr = self.sched(self.i / max(self.num_it - 1, 1))
        set_hyper(learn.opt, "lr", [lr] * (1 + max(g.get("layer_group", 0) for g in learn.opt.param_groups)))
        self.lrs.append(lr)

    def after_batch(self, learn: Learner) -> None:
        loss = learn.loss.item()
        self.i += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * loss
        smooth = self.avg / (1 - self.beta**self.i)
        self.losses.append(smooth)
        self.best = min(self.best, smooth)
        if self.i >= self.num_it or not math.isfinite(smooth) or smooth > 4 * self.best:
            raise CancelFit

    def suggestion(self) -> float:
        """LR at the minimum smoothed loss divided by 10 (fastai's `lr_min`)."""
        pts = [(loss, lr) for lr, loss in zip(self.lrs, self.losses, strict=False) if math.isfinite(loss)]
        return min(pts)[1] / 10 if pts else float("nan")

    def plot(self, path: str | Path) -> None:
        fig, ax = new_figure()
        n = len(self.losses)
        ax.plot(self.lrs[:n], self.losses)
        ax.axvline(self.suggestion(), color="r", ls="--", label=f"suggested {self.suggestion():.1e}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("smoothed loss")
        ax.legend()
        save_figure(fig, path)


class SaveEveryEpoch(Callback):
    """Save model + optimizer at the end of every epoch, so a long run can resume (rank 0).

    `meta` (JSON-able) goes into the checkpoint's metadata, e.g. which phase of a multi-stage
    run this is; `epoch` (epochs done) and the Recorder's `history` are always written.
    """

    order = 99

    def __init__(self, name: str | Path = "last", **meta: Any) -> None:
        self.name, self.meta = name, meta

    def after_epoch(self, learn: Learner) -> None:
        learn.save(self.name, epoch=learn.epoch + 1, history=learn.recorder.history, **self.meta)


class WallClockCycle(Callback):
    """Train for `seconds` of wall time, with the schedules driven by the clock.

    For comparisons at equal wall time (two losses, two encoders): `pct_train`, which the
    one-cycle schedules read, becomes the share of the budget spent instead of the share of
    the iterations, so a slow model and a fast one both get a whole warm-up and annealing in
    the same time, however many batches that is. Fit with more epochs than can run; the fit
    stops after the batch that reaches the budget, or instead of a validation pass that would
    start after it. On CUDA the clock is read after a synchronisation (kernels run
    asynchronously, so the host clock alone would run ahead of the work). `batches` and
    `elapsed` say what was done. `clock` is injectable for tests.
    """

    order = 5  # before ParamScheduler (10) reads pct_train

    def __init__(self, seconds: float, clock=time.perf_counter) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        self.seconds, self.clock = float(seconds), clock
        self.batches, self.elapsed = 0, 0.0

    def _now(self, learn: Learner) -> float:
        if learn.device.type == "cuda":
            torch.cuda.synchronize(learn.device)
        self.elapsed = self.clock() - self.t0
        return self.elapsed

    def before_fit(self, learn: Learner) -> None:
        self.t0, self.batches, self.elapsed = self.clock(), 0, 0.0
        learn.pct_clock = lambda: min(max((self.clock() - self.t0) / self.seconds, 0.0), 1.0)

    def after_batch(self, learn: Learner) -> None:
        if learn.training:
            self.batches += 1
            if self._now(learn) >= self.seconds:
                raise CancelFit

    def before_validate(self, learn: Learner) -> None:
        if self._now(learn) >= self.seconds:
            raise CancelFit

    def cleanup_fit(self, learn: Learner) -> None:
        self._now(learn)
        learn.pct_clock = None


class TimeBudget(Callback):
    """Stop training cleanly (after a batch, `CancelFit`) once `minutes` of wall time have passed
    since the fit began; what was learnt so far is kept."""

    order = 70

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60

    def before_fit(self, learn: Learner) -> None:
        self.t0 = time.perf_counter()

    def after_batch(self, learn: Learner) -> None:
        if time.perf_counter() - self.t0 > self.seconds:
            raise CancelFit
