"""scripts/train_shipped_restorer.py: fine-tuning from a trained restorer (--init, --loss),
refusing to train over a finished run, and resuming after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import colour_photo

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "train_shipped_restorer.py"


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hr")
    for i in range(4):
        colour_photo(48, 40, seed=i).save(d / f"p{i}.png")
    return d


def cmd(hr: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(SCRIPT), "--hr", str(hr), "--out", str(out), "--crop", "32",
            "--scale", "4", "--features", "8", "--bs", "2", "--frozen-epochs", "0",
            "--samples-per-image", "1", "--workers", "0", "--device", "cpu", "--no-pretrained",
            "--lr", "1e-3", *extra]


def run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)


def test_init_fine_tunes_a_trained_model_and_a_finished_run_is_kept(photos, tmp_path):
    from lesson7.restore.restorer import Restorer

    base = tmp_path / "base"
    r = run(cmd(photos, base, "--epochs", "1"))
    assert r.returncode == 0, r.stderr
    start = Restorer.load(base)
    r = run(cmd(photos, tmp_path / "ft", "--epochs", "1", "--init", str(base)))
    assert r.returncode == 0, r.stderr
    assert f"from {base}" in r.stdout
    tuned = Restorer.load(tmp_path / "ft")
    assert tuned.cfg == start.cfg  # the architecture comes from --init
    a, b = start.model.state_dict(), tuned.model.state_dict()
    assert any(not a[k].equal(b[k]) for k in a)  # and it was trained from there
    assert not (tmp_path / "ft" / "state").exists()  # finished: no resume point left
    # the same flags again: nothing to do; other flags: refused, naming them; nothing lost
    before = (tmp_path / "ft" / "model.safetensors").read_bytes()
    again = run(cmd(photos, tmp_path / "ft", "--epochs", "1", "--init", str(base)))
    assert again.returncode == 0 and "nothing to do" in again.stdout
    other = run(cmd(photos, tmp_path / "ft", "--epochs", "2", "--init", str(base)))
    assert other.returncode != 0 and "epochs" in other.stderr
    assert (tmp_path / "ft" / "model.safetensors").read_bytes() == before
    # --ship on the finished run writes its fp16 copy, with how it was trained
    shipped = run([*cmd(photos, tmp_path / "ft", "--epochs", "1", "--init", str(base)),
                   "--ship", str(tmp_path / "assets" / "restorer")])
    assert shipped.returncode == 0, shipped.stderr
    from safetensors import safe_open
    with safe_open(tmp_path / "assets" / "restorer.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} - {torch.int64} == {torch.float16}
    Restorer.load(tmp_path / "assets" / "restorer.safetensors")  # and it loads
    from lesson7.train.checkpoint import checkpoint_metadata
    recipe = checkpoint_metadata(tmp_path / "assets" / "restorer.safetensors")["recipe"]
    assert recipe["init"] == str(base) and recipe["init_recipe"]["loss"] == "L1"


def test_bad_init_and_missing_feature_weights_are_refused(photos, tmp_path):
    base = tmp_path / "base"
    assert run(cmd(photos, base, "--epochs", "1")).returncode == 0
    r = run([*cmd(photos, tmp_path / "x2", "--epochs", "1", "--init", str(base)), "--scale", "2"])
    assert r.returncode != 0 and "x4 restorer, not --scale 2" in r.stderr
    missing = tmp_path / "nope.safetensors"
    r = run(cmd(photos, tmp_path / "f", "--epochs", "1", "--loss", "feature",
                "--feature-weights", str(missing)))
    assert r.returncode != 0 and "--loss feature needs the VGG16 trunk" in r.stderr
    assert not (tmp_path / "f" / "model.safetensors").exists()


def test_a_killed_run_resumes_from_its_last_epoch(photos, tmp_path):
    out = tmp_path / "run"
    args = cmd(photos, out, "--epochs", "30")
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    state = out / "state" / "last.safetensors"
    deadline = time.time() + 240
    while not state.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert state.exists(), "no resume point was written before the kill"
    assert not (out / "model.safetensors").exists()
    r = run(args)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout and (out / "model.safetensors").exists()
    assert not (out / "state").exists()
