"""The demo's progress display: one numbered header per stage, one line per step with its time.

Training steps also print their own per-epoch tables (the Learner's recorder) and, on a
terminal, a batch bar; this adds where the demo is as a whole: `[3/6 restore 2/4] ...`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["StageProgress"]


class StageProgress:
    """Progress of one stage: `with progress.step("training"):` prints the step and its time."""

    def __init__(self, name: str, index: int, n_stages: int, n_steps: int,
                 stream: TextIO | None = None) -> None:
        self.name, self.index, self.n_stages, self.n_steps = name, index, n_stages, n_steps
        self.done = 0
        self.stream = stream or sys.stdout
        self.t0 = time.perf_counter()

    def _print(self, msg: str) -> None:
        print(msg, file=self.stream, flush=True)

    def header(self, what: str) -> None:
        self._print(f"\n=== [{self.index}/{self.n_stages}] {self.name}: {what} ===")

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """One of the stage's `n_steps` steps; prints its start and, when done, its time."""
        self.done += 1
        tag = f"[{self.index}/{self.n_stages} {self.name} {self.done}/{self.n_steps}]"
        self._print(f"{tag} {what} ...")
        t0 = time.perf_counter()
        yield
        self._print(f"{tag} {what}: done in {time.perf_counter() - t0:.1f} s "
                    f"(stage {time.perf_counter() - self.t0:.0f} s)")

    def note(self, msg: str) -> None:
        self._print(f"[{self.index}/{self.n_stages} {self.name}] {msg}")
