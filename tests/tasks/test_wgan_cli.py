import argparse
import gzip
import json
import struct

import numpy as np
import pytest
from PIL import Image

from lesson7.tasks import wgan


def _cli(argv):
    parser = argparse.ArgumentParser(prog="lesson7")
    wgan.register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["wgan", *argv])
    return args.func(args)


def _write_idx(folder, n=96, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, c in enumerate(labels):  # class c: a bright bar at row 2c..2c+4
        images[i, 2 * c:2 * c + 5, 4:24] = 255
    folder.mkdir()
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">iiii", 0x803, n, 28, 28) + images.tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">ii", 0x801, n) + labels.tobytes())


def test_cli_on_a_tiny_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(
            tmp_path / "imgs" / "a" / f"{i}.jpg")
    out = tmp_path / "run"
    rc = _cli(["--data", str(tmp_path / "imgs"), "--size", "16", "--channels", "3", "--bs", "8",
               "--epochs", "2", "--n-features", "8", "--out", str(out), "--device", "cpu"])
    assert rc == 0
    assert (out / "samples_epoch1.png").exists() and (out / "samples_epoch2.png").exists()
    assert Image.open(out / "samples_epoch2.png").size == (8 * 16 + 9 * 2, 8 * 16 + 9 * 2)
    assert (out / "last.safetensors").exists() and (out / "generator.safetensors").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 1]
    assert metrics["history"][-1]["critic_loss"] is not None
    assert metrics["fid"] is None and "fid_note" in metrics  # no classifier for RGB folders
    assert metrics["variant"] == "wgan-clip"


def test_cli_gp_on_idx_data_reports_classifier_fid(tmp_path):
    _write_idx(tmp_path / "idx")
    out = tmp_path / "run"
    rc = _cli(["--data", str(tmp_path / "idx"), "--size", "32", "--channels", "1", "--bs", "16",
               "--epochs", "1", "--gp", "--n-features", "8", "--fid-samples", "40",
               "--out", str(out), "--device", "cpu"])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["variant"] == "wgan-gp" and m["n_samples"] == 40
    assert m["fid"] > 0 and m["fid_real_vs_real"] >= 0 and m["fid_untrained_generator"] > 0
    assert (out / "fid_classifier.safetensors").exists()


@pytest.mark.parametrize("flag, value", [("--channels", "2"), ("--size", "48"), ("--bs", "0")])
def test_bad_flags_are_named(tmp_path, flag, value, capsys):
    with pytest.raises(SystemExit):
        _cli(["--data", str(tmp_path), flag, value])
    assert flag in capsys.readouterr().err


def test_load_images_resizes_and_crops(tmp_path):
    _write_idx(tmp_path / "idx", n=10)
    x, y = wgan.load_images(tmp_path / "idx", 32, 1)
    assert x.shape == (10, 1, 32, 32) and x.dtype.is_floating_point is False and len(y) == 10
    batches = wgan.ImageBatches(x, bs=4)
    assert len(batches) == 2
    b = next(iter(batches))
    assert b.shape == (4, 1, 32, 32) and b.min() >= -1 and b.max() <= 1
