"""`lesson7 demo` runs offline from packaged data and writes a summary."""

import json

import pytest

from lesson7.cli import main
from lesson7.tasks.demo import mnist_sample_path


def test_packaged_mnist_sample_exists_and_is_small():
    p = mnist_sample_path()
    assert p.exists() and 100_000 < p.stat().st_size < 1_000_000


@pytest.mark.slow
def test_demo_mnist_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    rc = main(["demo", "--only", "mnist", "--out", str(tmp_path / "demo"), "--device", "cpu"])
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert rc == 0 and summary["mnist"]["accuracy"] > 0.85
    assert (tmp_path / "demo" / "mnist" / "metrics.json").exists()
