"""Several processes from the start: under `torchrun` the Learner wraps the model in
DistributedDataParallel, shards batches, averages metrics across ranks, and lets only rank 0
print, plot and write. Single-process runs pay nothing for it.

Ref: https://pytorch.org/docs/stable/notes/ddp.html, https://pytorch.org/docs/stable/elastic/run.html
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def launched_by_torchrun() -> bool:
    """True when the environment says we are one of several processes (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_distributed(device: torch.device) -> bool:
    """Join the process group torchrun describes (gloo on CPU, nccl on CUDA); False if alone."""
    if not launched_by_torchrun():
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return True


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Only rank 0 prints, plots and writes checkpoints."""
    return rank() == 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum `t` over ranks (identity when alone)."""
    if is_distributed():
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier() -> None:
    if is_distributed():
        dist.barrier()
