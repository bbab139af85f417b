"""When to switch between training the critic and training the generator.

Scope: pure policies. After every batch `GANTrainer` calls `switcher.step(gen_mode, loss)`; a
True answer means "switch now". No Learner, no tensors: each branch is tested directly.
- `FixedGANSwitcher(n_crit, n_gen)`: n_crit critic batches, then n_gen generator batches
  (WGAN: 5 / 1, Arjovsky et al. 2017, Algorithm 1).
- `AdaptiveGANSwitcher(gen_thresh, critic_thresh)`: switch after a batch whose loss is below the
  mode's threshold (None: after every batch). The lesson uses critic_thresh=0.65: the critic
  trains until it is good enough, then the generator gets one batch.
- `ScheduledGANSwitcher(epochs)`: a given number of generator batches in each epoch, spread
  evenly. A control run (adversarial weight 0) replays a GAN run's per-epoch counts with it,
  so the control's generator gets exactly as many steps as the GAN's, at the same epochs.
Fix (B7 in docs/architecture.md, Differences from fastai v1): fastai v1 declared `critic_thresh`
but an early revision read `crit_thresh`, so the critic branch crashed; here there is one
name, `critic_thresh`.
Refs: fastai v1 `fastai/vision/gan.py` (FixedGANSwitcher, AdaptiveGANSwitcher).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# A count may depend on training progress: it is called with the number of generator batches so
# far. Arjovsky et al. use 100 critic steps for the first 25 generator steps, then 5.
Count = int | Callable[[int], int]


class GANSwitcher(Protocol):
    """The interface GANTrainer relies on."""

    def reset(self) -> None: ...

    def step(self, gen_mode: bool, loss: float) -> bool: ...


def wgan_warmup_n_crit(n_gen_steps: int) -> int:
    """Arjovsky et al.'s schedule: 100 critic batches early on and every 500 generator steps."""
    return 100 if n_gen_steps < 25 or n_gen_steps % 500 == 0 else 5


class FixedGANSwitcher:
    """Switch after `n_crit` critic batches and after `n_gen` generator batches."""

    def __init__(self, n_crit: Count = 1, n_gen: Count = 1) -> None:
        for name, n in (("n_crit", n_crit), ("n_gen", n_gen)):
            if isinstance(n, int) and n < 1:
                raise ValueError(f"{name} must be >= 1 (or a callable), got {n}")
        self.n_crit, self.n_gen = n_crit, n_gen
        self.reset()

    def reset(self) -> None:
        self.n_in_mode = 0       # batches since the last switch
        self.n_gen_total = 0     # generator batches since reset (input of callable counts)

    def _target(self, count: Count) -> int:
        return count if isinstance(count, int) else int(count(self.n_gen_total))

    def step(self, gen_mode: bool, loss: float) -> bool:
        self.n_in_mode += 1
        target = self._target(self.n_gen if gen_mode else self.n_crit)
        if gen_mode:
            self.n_gen_total += 1
        if self.n_in_mode >= target:
            self.n_in_mode = 0
            return True
        return False


class AdaptiveGANSwitcher:
    """Switch after a batch whose loss is below the current mode's threshold (None: always)."""

    def __init__(self, gen_thresh: float | None = None, critic_thresh: float | None = None) -> None:
        self.gen_thresh = gen_thresh
        self.critic_thresh = critic_thresh

    def reset(self) -> None:
        pass  # stateless: the decision only depends on the last batch's loss

    def step(self, gen_mode: bool, loss: float) -> bool:
        thresh = self.gen_thresh if gen_mode else self.critic_thresh
        return thresh is None or loss < thresh


class ScheduledGANSwitcher:
    """Exactly `gen` generator batches among the `total` batches of each epoch, given per epoch as
    (gen, total) pairs, spread evenly (batch j of an epoch trains the generator when it is one of
    round((i + 1) * total / (gen + 1)), i < gen, so never the epoch's first batch); after the
    last listed epoch, critic batches only. `GANTrainer` starts a fit in critic mode."""

    def __init__(self, epochs: list[tuple[int, int]]) -> None:
        for e, (gen, total) in enumerate(epochs):
            if not 0 <= gen < total:
                raise ValueError(f"epoch {e}: {gen} generator batches of {total}; need "
                                 f"0 <= gen < total (the first batch of an epoch is the critic's)")
        self.plan = [{round((i + 1) * total / (gen + 1)) for i in range(gen)}
                     for gen, total in epochs]
        self.totals = [total for _, total in epochs]
        self.reset()

    def reset(self) -> None:
        self.epoch, self.batch = 0, 0  # position of the batch that just ran

    def _gen_at(self, epoch: int, batch: int) -> bool:
        return epoch < len(self.plan) and batch in self.plan[epoch]

    def step(self, gen_mode: bool, loss: float) -> bool:
        self.batch += 1  # the next batch's position
        if self.epoch < len(self.totals) and self.batch >= self.totals[self.epoch]:
            self.epoch, self.batch = self.epoch + 1, 0
        return self._gen_at(self.epoch, self.batch) != gen_mode
