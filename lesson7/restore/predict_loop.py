"""The loop `lesson7 restore predict` and `lesson7 colorize` share: one model over (input, output)
file pairs, as `plan_outputs` (`lesson7.restore.predict`) planned them.

Per file: an output already there is skipped unless --overwrite, so a rerun after Ctrl-C or a
crash redoes only what is missing; a ValueError or OSError (undecodable, too large, unreadable)
or running out of memory is recorded against that file and the loop goes on (the next image
may fit); a `Declined` file is reported and counted apart. One line per file on stdout, a
progress bar on a terminal's stderr; the caller prints the summary, then `print_failures`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Declined", "LoopCounts", "predict_each"]


class Declined(ValueError):
    """This command leaves the file alone (reported, not counted as a failure)."""


@dataclass
class LoopCounts:
    """What `predict_each` did: files written, skipped (output already there), declined, failed."""

    done: int = 0
    skipped: int = 0
    declined: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def print_failures(self) -> None:
        """One `FAILED file: why` line per failure, on stderr."""
        for f, why in self.failures:
            print(f"FAILED {f}: {why}", file=sys.stderr)


def predict_each(plan: list[tuple[Path, Path]], predict_file: Callable[[Path, Path], tuple[int, int]],
                 desc: str, overwrite: bool, out_of_memory: str) -> LoopCounts:
    """`predict_file(src, dest)` -> the output's (width, height), for every pair of `plan`.

    `out_of_memory` is the failure's reason when a file runs out of memory (name the flag
    that makes it fit).
    """
    import torch
    from tqdm.auto import tqdm

    counts = LoopCounts()
    bar = tqdm(plan, desc=desc, unit="img", disable=not sys.stderr.isatty())
    for src, dest in bar:
        if dest.exists() and not overwrite:
            counts.skipped += 1
            bar.write(f"{src} -> {dest}: already there, skipped (--overwrite redoes it)",
                      file=sys.stdout)
            continue
        try:
            w, h = predict_file(src, dest)
        except Declined as e:
            counts.declined += 1
            bar.write(f"{src}: {e}", file=sys.stdout)
            continue
        except (ValueError, OSError) as e:  # undecodable, too large, unreadable: named below
            counts.failures.append((src, str(e)))
            continue
        except (MemoryError, torch.OutOfMemoryError):  # this image; the next may fit
            counts.failures.append((src, out_of_memory))
            continue
        counts.done += 1
        bar.write(f"{src} -> {dest} ({w}x{h})", file=sys.stdout)
    bar.close()
    return counts
