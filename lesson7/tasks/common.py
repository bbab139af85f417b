"""What every pipeline's CLI shares: common flags, seeding, and the run folder's files."""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lesson7.train import distributed as ddp
from lesson7.train.checkpoint import atomic_write_json


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def add_common_flags(parser: argparse.ArgumentParser, task: str) -> None:
    """--out, --device, --seed."""
    parser.add_argument("--out", type=Path, default=Path("runs") / task,
                        help=f"run folder for metrics, plots and checkpoints (default runs/{task})")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to train (auto: CUDA if available)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_info(device: torch.device) -> dict[str, Any]:
    """Device and versions, recorded in every metrics.json."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {"device": f"{device.type} ({name}, {torch.get_num_threads()} threads)",
            "torch_version": torch.__version__, "world_size": ddp.world_size(),
            "host_cpus": os.cpu_count()}


def write_metrics(out: Path, metrics: dict[str, Any]) -> Path | None:
    """Write OUT/metrics.json atomically (rank 0 only)."""
    if not ddp.is_main():
        return None
    return atomic_write_json(out / "metrics.json", metrics)


class Timer:
    """Wall-clock seconds of a block (`with Timer() as t: ...; t.seconds`)."""

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
