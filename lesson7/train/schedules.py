"""Pure schedules: `pct` in [0, 1] -> value, and the callback that applies them.

one-cycle as in fastai v1 `fit_one_cycle` (`fastai/train.py`, `fastai/callbacks/one_cycle.py`):
LR cosine from lr_max/div up to lr_max over `pct_start`, then cosine down to lr_max/div_final;
momentum (Adam beta1) the mirror image, 0.95 -> 0.85 -> 0.95. Ref: Smith 2018, arXiv:1803.09820.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

Schedule = Callable[[float], float]


def cos_sched(start: float, end: float) -> Schedule:
    """Cosine from `start` (pct 0) to `end` (pct 1)."""
    return lambda pct: start + (end - start) * (1 - math.cos(math.pi * pct)) / 2


def const_sched(value: float) -> Schedule:
    """The same value at every pct."""
    return lambda pct: value


def exp_sched(start: float, end: float) -> Schedule:
    """Exponential from `start` to `end` (the LR finder's sweep)."""
    return lambda pct: start * (end / start) ** pct


def combine(pcts: Sequence[float], scheds: Sequence[Schedule]) -> Schedule:
    """Chain schedules: `scheds[i]` runs over a `pcts[i]` share of training."""
    if abs(sum(pcts) - 1) > 1e-6:
        raise ValueError(f"phase lengths must sum to 1, got {list(pcts)}")
    bounds = [0.0]
    for p in pcts:
        bounds.append(bounds[-1] + p)

    def sched(pct: float) -> float:
        for i, s in enumerate(scheds):
            if pct <= bounds[i + 1] or i == len(scheds) - 1:
                width = pcts[i] or 1.0
                return s(min(max((pct - bounds[i]) / width, 0.0), 1.0))
        raise AssertionError("unreachable")

    return sched


def one_cycle(lr_max: float, pct_start: float = 0.3, div: float = 25.0,
              div_final: float = 25e4) -> Schedule:
    """LR: cosine up from lr_max/div to lr_max, then down to lr_max/div_final."""
    if not 0 <= pct_start <= 1:
        raise ValueError(f"pct_start must be in [0, 1], got {pct_start}")
    return combine([pct_start, 1 - pct_start],
                   [cos_sched(lr_max / div, lr_max), cos_sched(lr_max, lr_max / div_final)])


def one_cycle_moms(moms: Sequence[float] = (0.95, 0.85, 0.95), pct_start: float = 0.3) -> Schedule:
    """Momentum: high -> low while the LR warms up, then back to high."""
    return combine([pct_start, 1 - pct_start], [cos_sched(moms[0], moms[1]), cos_sched(moms[1], moms[2])])
