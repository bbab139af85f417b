"""Progressive resizing in phases: per size, a one-cycle with the pretrained encoder frozen,
then one with everything unfrozen and discriminative learning rates.

The lesson's fine-tuning recipe (`lesson7-superres.ipynb`: `fit_one_cycle(..., slice(lr*3),
pct_start=0.8)`, `unfreeze()`, `fit_one_cycle(..., slice(1e-5, lr))`, then again at a larger
size), which DeOldify's generator pretraining follows too (jantic/DeOldify
`ColorizeTrainingStableLargeBatch.ipynb`). `lesson7.restore.train` and
`lesson7.colorize.train` run their phases through here; each phase saves the resume point
after every epoch (`SaveEveryEpoch` into `RunFolder.state`), so a killed run continues from
the phase and epoch it reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lesson7.runs import RunFolder
from lesson7.train.callbacks import Callback, SaveEveryEpoch, TerminateOnNaN

__all__ = ["progressive_phases", "batch_size_at", "fit_phase"]


def progressive_phases(sizes: Sequence[int], epochs: int,
                       unfreeze_epochs: int) -> list[tuple[int, bool, int]]:
    """(size, frozen, epochs) in order: per size, a frozen then an unfrozen one-cycle."""
    phases = []
    for size in sizes:
        if epochs:
            phases.append((size, True, epochs))
        if unfreeze_epochs:
            phases.append((size, False, unfreeze_epochs))
    return phases


def batch_size_at(bs: int, first_size: int, size: int) -> int:
    """The batch size at `size` for `bs` at the first size: the same pixels per batch, so a
    larger size still fits in the memory the first one used."""
    return max(1, round(bs * (first_size / size) ** 2))


def fit_phase(learn: Any, run: RunFolder, settings: dict[str, Any], phase: int, n_epochs: int,
              frozen: bool, pretrained: bool, lr: float, start_epoch: int = 0,
              cbs: Sequence[Callback] = ()) -> None:
    """One phase: frozen, `slice(3 * lr)` with pct_start 0.8 (only the new layers train);
    unfrozen, `slice(lr / 1000, lr)` with pct_start 0.3. A from-scratch encoder (not
    `pretrained`) is never frozen and gets `lr` in every layer group: discriminative LRs
    protect pretrained features, and random ones have none to protect.

    A NaN/inf loss stops training with a FloatingPointError naming the last good epoch's
    state in `run` (which a rerun with --overwrite discards).
    """
    if frozen and pretrained:
        learn.freeze()
        lrs = slice(lr * 3)
    else:
        learn.unfreeze()
        lrs = slice(lr / 1000, lr) if pretrained else lr
    saver = SaveEveryEpoch(run.state, phase=phase, run=settings)  # the resume point
    try:
        learn.fit_one_cycle(n_epochs, lrs, pct_start=0.8 if frozen else 0.3,
                            cbs=[TerminateOnNaN(), saver, *cbs], start_epoch=start_epoch)
    except FloatingPointError as e:
        if not run.state.with_suffix(".safetensors").is_file():
            raise
        raise FloatingPointError(f"{e}; the last good epoch is kept in {run.state_dir} "
                                 "(a rerun with a lower --lr needs --overwrite, which discards it)"
                                 ) from None
