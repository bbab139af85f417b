"""Training: the Learner, its callbacks, schedules, optimizer groups, hooks and metrics."""

from lesson7.files import atomic_path, atomic_write_json, atomic_write_text
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
    SaveEveryEpoch,
    TerminateOnNaN,
    TimeBudget,
    WallClockCycle,
)
from lesson7.train.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from lesson7.train.hooks import Hook, Hooks, eval_mode
from lesson7.train.learner import EVENTS, Learner, pick_device
from lesson7.train.metrics import accuracy, error_rate
from lesson7.train.optim import adamw, lr_per_group
from lesson7.train.schedules import combine, cos_sched, one_cycle, one_cycle_moms

__all__ = [
    "EVENTS", "Callback", "CancelBatch", "CancelEpoch", "CancelFit", "Hook", "Hooks", "LRFinder",
    "Learner", "MixedPrecision", "ParamScheduler", "ProgressBar", "Recorder", "SaveEveryEpoch",
    "TerminateOnNaN", "TimeBudget", "WallClockCycle", "accuracy", "adamw", "atomic_path", "atomic_write_json",
    "atomic_write_text",
    "combine", "cos_sched", "error_rate", "eval_mode", "load_checkpoint", "lr_per_group",
    "one_cycle", "one_cycle_moms", "pick_device", "read_metadata",
    "save_checkpoint",
]
