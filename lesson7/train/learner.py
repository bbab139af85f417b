"""The Learner: model + data + loss + optimizer, trained in named events (fit -> epoch -> batch).

Everything optional (metrics, schedules, mixed precision, progress, LR finder, GAN switching)
lives in callbacks; the Learner only runs the loop. Ref: fastai v1 `basic_train.py`,
miniai `learner.py` (course22p2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lesson7.train import distributed as ddp
from lesson7.train.callbacks import (
    Callback,
    CancelBatch,
    CancelEpoch,
    CancelFit,
    LRFinder,
    MixedPrecision,
    ParamScheduler,
    ProgressBar,
    Recorder,
)
from lesson7.train.checkpoint import load_checkpoint, save_checkpoint
from lesson7.train.optim import (
    LR,
    Splitter,
    adamw,
    bn_params,
    default_splitter,
    lr_per_group,
    make_param_groups,
    set_trainable,
)
from lesson7.train.schedules import const_sched, one_cycle, one_cycle_moms

_STAGES = ("fit", "epoch", "train", "validate", "batch")
EVENTS = tuple(f"{p}_{s}" for s in _STAGES for p in ("before", "after", "cleanup")) + (
    "after_pred", "after_loss", "after_backward", "after_step")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> this process's CUDA device if there is one, else CPU."""
    if str(device) == "auto":
        return torch.device(f"cuda:{ddp.local_rank()}" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available; use auto or cpu")
    if device.type == "cuda" and device.index is None:
        # Some CUDA APIs (generators, device properties) refuse an index-less "cuda".
        device = torch.device("cuda", torch.cuda.current_device())
    if device.type == "cuda" and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {device} does not exist: this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s), cuda:0..")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps was asked for but MPS is not available; use auto or cpu")
    return device


def to_device(b: Any, device: torch.device) -> Any:
    if isinstance(b, torch.Tensor):
        return b.to(device, non_blocking=True)
    if isinstance(b, (list, tuple)):
        return type(b)(to_device(o, device) for o in b)
    return b


class Learner:
    """Trains `model` on `data.train_dl`, validates on `data.valid_dl` (see docs/architecture.md)."""

    def __init__(self, model: nn.Module, data: Any, loss_fn: Any, metrics: Sequence = (),
                 opt_func: Any = adamw, lr: LR = 3e-3, wd: float = 1e-2, bn_wd: bool = True,
                 train_bn: bool = True, cbs: Sequence[Callback] = (), splitter: Splitter | None = None,
                 path: str | Path = "runs/learner", device: str | torch.device = "auto",
                 mixed_precision: bool = True, progress: bool | None = None) -> None:
        self.device = pick_device(device)
        self.distributed = ddp.init_distributed(self.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.model = model.to(self.device)
        if isinstance(loss_fn, nn.Module):  # a loss network (VGG features) runs beside the model
            loss_fn.to(self.device)
        self.data, self.loss_fn, self.opt_func = data, loss_fn, opt_func
        self.lr, self.wd, self.bn_wd, self.train_bn = lr, wd, bn_wd, train_bn
        self.path = Path(path)
        self.splitter = splitter or default_splitter
        self.layer_groups = self.splitter(self.model)
        self.opt: torch.optim.Optimizer | None = None
        self.recorder = Recorder(metrics)
        self.cbs: list[Callback] = [self.recorder, ProgressBar(progress), *cbs]
        if mixed_precision and self.device.type == "cuda":
            self.cbs.append(MixedPrecision())
        if hasattr(data, "to"):
            data.to(self.device)  # in-memory data moves its tensors once; batches then stay there
        if self.distributed:
            if hasattr(data, "shard"):
                data.shard(ddp.rank(), ddp.world_size())
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.epoch, self.n_epochs, self.start_epoch, self.iter, self.log = 0, 0, 0, 0, {}
        self.pct_clock: Callable[[], float] | None = None  # set by WallClockCycle
        self._handlers: dict[str, list] = {}
        self._handlers_for: list[int] = []

    # -- events ---------------------------------------------------------------------------
    def emit(self, event: str) -> None:
        """Call `event` on every callback that has it, in `order`."""
        handlers = self._handlers.get(event)
        if handlers is None or self._handlers_for != [id(c) for c in self.cbs]:
            if event not in EVENTS:
                raise ValueError(f"unknown event {event!r}; events are {EVENTS}")
            self._index_handlers()
            handlers = self._handlers[event]
        for handler in handlers:
            handler(self)

    def _index_handlers(self) -> None:
        # Looked up once per change of the callback list, not on each of the ~10 events per batch.
        ordered = sorted(self.cbs, key=lambda c: c.order)
        self._handlers = {e: [h for c in ordered if (h := getattr(c, e, None)) is not None]
                          for e in EVENTS}
        self._handlers_for = [id(c) for c in self.cbs]

    def _with_events(self, stage: str, cancel: type[Exception], body: Callable[[], None]) -> None:
        """before_stage, body, after_stage; a `cancel` raised anywhere (even in before_) skips
        the rest, and cleanup_stage always runs."""
        try:
            self.emit(f"before_{stage}")
            body()
            self.emit(f"after_{stage}")
        except cancel:
            pass
        finally:
            self.emit(f"cleanup_{stage}")

    # -- the loop ---------------------------------------------------------------------------
    def fit(self, n_epochs: int, lr: LR | None = None, wd: float | None = None,
            cbs: Sequence[Callback] = (), start_epoch: int = 0) -> None:
        """Train `n_epochs` at a constant LR (per layer group); see `_fit` for `start_epoch`."""
        lrs = lr_per_group(self.lr if lr is None else lr, len(self.layer_groups))
        self._fit(n_epochs, [ParamScheduler({"lr": [const_sched(v) for v in lrs]}), *cbs], wd,
                  start_epoch)

    def fit_one_cycle(self, n_epochs: int, lr_max: LR | None = None, pct_start: float = 0.3,
                      div: float = 25.0, div_final: float = 25e4,
                      moms: tuple[float, float, float] = (0.95, 0.85, 0.95), wd: float | None = None,
                      cbs: Sequence[Callback] = (), start_epoch: int = 0) -> None:
        """Train with the one-cycle policy (fastai v1 `fit_one_cycle`); see `_fit` for `start_epoch`."""
        lrs = lr_per_group(self.lr if lr_max is None else lr_max, len(self.layer_groups))
        sched = ParamScheduler({"lr": [one_cycle(v, pct_start, div, div_final) for v in lrs],
                                "mom": [one_cycle_moms(moms, pct_start)] * len(lrs)})
        self._fit(n_epochs, [sched, *cbs], wd, start_epoch)

    def _fit(self, n_epochs: int, cbs: Sequence[Callback], wd: float | None,
             start_epoch: int = 0) -> None:
        """Run epochs `start_epoch .. n_epochs-1` of an `n_epochs` schedule: a resumed run
        (weights and optimizer loaded from `save`) continues its schedule where it stopped."""
        if n_epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {n_epochs}")
        if not 0 <= start_epoch < n_epochs:
            raise ValueError(f"start_epoch must be in [0, {n_epochs}), got {start_epoch}")
        if self.opt is None:
            self.create_opt()
        for g in self.opt.param_groups:
            if g["weight_decay"]:
                g["weight_decay"] = self.wd if wd is None else wd
        self.n_epochs, self.start_epoch = n_epochs, start_epoch
        self.total_iters = n_epochs * len(self.data.train_dl)
        self.train_iter = start_epoch * len(self.data.train_dl)
        self.cbs += cbs
        try:
            self._with_events("fit", CancelFit, self._all_epochs)
        finally:
            for cb in cbs:
                self.cbs.remove(cb)

    def _all_epochs(self) -> None:
        for epoch in range(self.start_epoch, self.n_epochs):
            self.epoch, self.log = epoch, {}
            self._with_events("epoch", CancelEpoch, self._one_epoch)

    def _one_epoch(self) -> None:
        self._run(train=True)
        self._run(train=False)

    def _run(self, train: bool) -> None:
        self.training = train
        self.model.train(train)
        self.dl = self.data.train_dl if train else self.data.valid_dl
        if train and hasattr(self.dl, "set_epoch"):
            self.dl.set_epoch(self.epoch)
        self.n_iter = len(self.dl)
        with torch.set_grad_enabled(train):
            self._with_events("train" if train else "validate", CancelEpoch, self._all_batches)

    def _all_batches(self) -> None:
        for i, (xb, yb) in enumerate(self.dl):
            self.iter = i
            self.xb, self.yb = to_device(xb, self.device), to_device(yb, self.device)
            self._with_events("batch", CancelBatch, self._one_batch)
            if self.training:
                self.train_iter += 1

    @property
    def pct_train(self) -> float:
        """Share of training done, 0 at the first batch and 1 at the last (of the wall-clock
        budget while a `WallClockCycle` runs)."""
        if self.pct_clock is not None:
            return self.pct_clock()
        return self.train_iter / max(self.total_iters - 1, 1)

    def _one_batch(self) -> None:
        forward = self.ddp_model if self.distributed and self.ddp_model.module is self.model else self.model
        self.pred = forward(self.xb)
        self.emit("after_pred")
        self.loss = self.loss_fn(self.pred, self.yb)
        self.emit("after_loss")
        if not self.training:
            return
        self.loss.backward()
        self.emit("after_backward")
        self.opt.step()
        self.emit("after_step")
        self.opt.zero_grad(set_to_none=True)

    # -- optimizer, layer groups, freezing ------------------------------------------------------
    def create_opt(self) -> torch.optim.Optimizer:
        groups = make_param_groups(self.model, self.layer_groups, self.wd, self.bn_wd)
        lrs = lr_per_group(self.lr, len(self.layer_groups))
        for g in groups:
            g["lr"] = lrs[g["layer_group"]]
        self.opt = self.opt_func(groups)
        return self.opt

    def freeze_to(self, n: int) -> None:
        """Freeze layer groups before `n` (negative counts from the end); BN stays trainable."""
        n_groups = len(self.layer_groups)
        n = n % n_groups if n < 0 else min(n, n_groups)
        keep = bn_params(self.model) if self.train_bn else set()
        set_trainable(self.layer_groups, n, keep)

    def freeze(self) -> None:
        """Train only the last layer group (and every BatchNorm)."""
        self.freeze_to(-1)

    def unfreeze(self) -> None:
        self.freeze_to(0)

    # -- LR finder, predictions ---------------------------------------------------------------
    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                plot: str | Path | None = "lr_find.png") -> float:
        """Sweep the LR, save a plot, restore the weights, and return the suggested LR."""
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        opt_before = self.opt
        finder = LRFinder(start_lr, end_lr, num_it)
        self.create_opt()
        self.cbs.remove(self.recorder)  # the sweep is not part of the training history
        try:
            self._fit(math.ceil(num_it / len(self.data.train_dl)), [finder], None)
        finally:
            self.cbs.append(self.recorder)
            self.model.load_state_dict(state)
            self.opt = opt_before
        if plot is not None and ddp.is_main():
            finder.plot(self.path / plot)
        self.lr_finder = finder
        return finder.suggestion()

    @torch.no_grad()
    def get_preds(self, dl: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictions and targets over `dl` (default: the validation loader), in eval mode."""
        self.model.eval()
        preds, targs = [], []
        for xb, yb in dl if dl is not None else self.data.valid_dl:
            preds.append(self.model(to_device(xb, self.device)).float().cpu())
            targs.append(yb.cpu() if isinstance(yb, torch.Tensor) else yb)
        return torch.cat(preds), torch.cat(targs)

    def validate(self) -> dict[str, float]:
        """Run one validation pass through the callbacks; returns the logged averages."""
        self.log = {}
        self._run(train=False)
        return dict(self.log)

    # -- checkpoints ------------------------------------------------------------------------
    def save(self, name: str | Path, with_opt: bool = True, **meta: Any) -> Path:
        """Write `<path>/<name>.safetensors` + `.json` atomically (rank 0 only)."""
        target = Path(name) if Path(name).suffix or Path(name).is_absolute() else self.path / name
        if ddp.is_main():
            save_checkpoint(target, self.model, self.opt if with_opt else None,
                            epoch=meta.pop("epoch", self.epoch), **meta)
        ddp.barrier()
        return target.with_suffix(".safetensors")

    def load(self, name: str | Path, with_opt: bool = True) -> dict[str, Any]:
        """Load weights (and optimizer state, if saved) from `save`."""
        target = Path(name) if Path(name).suffix or Path(name).is_absolute() else self.path / name
        if with_opt and self.opt is None:
            self.create_opt()
        return load_checkpoint(target, self.model, self.opt if with_opt else None)
