"""Two CPU processes under torchrun (gloo): training works, ranks agree, one checkpoint."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--standalone", str(worker), str(tmp_path)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["world"] == 2 and r0["steps"] == r1["steps"] == 3 * 512 // 2 // 16
    for a, b in zip(r0["history"], r1["history"], strict=False):
        assert a["valid_loss"] == b["valid_loss"] and a["accuracy"] == b["accuracy"]
        assert a["train_loss"] == b["train_loss"]
    assert r0["history"][-1]["accuracy"] > 0.8
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("final")) == \
        ["final.json", "final.safetensors"]
    # only rank 0 prints the table
    assert res.stdout.count("train_loss") == 1
