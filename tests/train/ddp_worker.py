"""Run under torchrun by test_distributed.py: trains a tiny model on 2 CPU ranks (gloo)."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from lesson7.train import Callback, Learner, accuracy


class Loader:
    def __init__(self, x, y, bs):
        self.x, self.y, self.bs, self.rank, self.world, self.epoch = x, y, bs, 0, 1, 0

    def set_epoch(self, e):
        self.epoch = e

    def __len__(self):
        return len(self.x) // self.world // self.bs

    def __iter__(self):
        idx = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.epoch))
        idx = idx[self.rank::self.world][: len(self) * self.bs]
        for i in range(0, len(idx), self.bs):
            yield self.x[idx[i:i + self.bs]], self.y[idx[i:i + self.bs]]


class Data:
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(512, 10, generator=g)
        y = (x[:, 0] > 0).long()
        self.train_dl, self.valid_dl = Loader(x, y, 16), Loader(x[:128], y[:128], 32)

    def shard(self, rank, world):
        for dl in (self.train_dl, self.valid_dl):
            dl.rank, dl.world = rank, world


class CheckSync(Callback):
    """After every optimizer step, all ranks must hold identical weights."""
    order = 60

    def __init__(self):
        self.steps = 0

    def after_step(self, learn):
        flat = torch.cat([p.detach().flatten() for p in learn.model.parameters()])
        gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, flat)
        assert all(torch.equal(gathered[0], g) for g in gathered), "ranks diverged"
        self.steps += 1


def main(out: Path) -> None:
    torch.manual_seed(0)  # same init on every rank (DDP also broadcasts rank 0's weights)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2))
    check = CheckSync()
    learn = Learner(model, Data(), nn.CrossEntropyLoss(), metrics=[accuracy], cbs=[check],
                    path=out, device="cpu")
    learn.fit_one_cycle(3, 3e-2)
    learn.save("final")
    rank = dist.get_rank()
    (out / f"rank{rank}.json").write_text(json.dumps({"history": learn.recorder.history,
                                                       "steps": check.steps,
                                                       "world": dist.get_world_size()}))
    # Both ranks reach teardown together: a rank that closes its gloo pairs while the other is
    # still writing can abort at exit ("terminate called without an active exception"), seen
    # once on a loaded 2-core machine after all three epochs had finished.
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
