"""A small run folder with a report.json that uses every part of the contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lesson7.report import save_report_json

EVIL = '<script>alert("x")</script> & <b>bold</b>'


def write_image(path: Path, size: tuple[int, int], seed: int, fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, fmt)
    return path


def make_sample_run(tmp_path: Path) -> Path:
    """tmp_path/stage: three images and a report.json with every kind of content."""
    run = tmp_path / "stage"
    write_image(run / "batch.png", (84, 84), 0)
    write_image(run / "pairs" / "before.jpg", (96, 64), 1, "JPEG")
    write_image(run / "pairs" / "after.png", (384, 256), 2)
    save_report_json(
        run, title="mnist stage", command="lesson7 mnist --epochs 2", lesson="lesson7-resnet-mnist",
        summary="Trains the lesson's ResNet on MNIST.", device="cpu (2 threads)", wall_time_s=75.5,
        figures=[{"name": "accuracy", "ours": 0.98765, "lesson": 0.9952, "unit": "", "note": "10k digits"},
                 {"name": "params", "ours": 41132, "lesson": None, "unit": "", "note": EVIL}],
        curves=[{"name": "loss", "xlabel": "epoch", "x": [1, 2, 3],
                 "series": {"train_loss": [2.0, 1.0, 0.5], "valid_loss": [2.5, None, 0.7]}}],
        galleries=[{"title": "a batch", "kind": "grid", "items": [{"caption": EVIL, "image": "batch.png"}]},
                   {"title": "restored", "kind": "compare",
                    "items": [{"caption": "photo 1", "before": "pairs/before.jpg",
                               "after": "pairs/after.png"}]}],
        texts=[{"title": "sample predictions", "lines": ["one , two -> three", "a < b"]}],
        unavailable=[{"name": "lpips", "reason": "no AlexNet weights on this machine"}])
    return run


@pytest.fixture
def sample_run(tmp_path: Path) -> Path:
    return make_sample_run(tmp_path)
