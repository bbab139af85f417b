"""`lesson7 restore train | predict | eval` end to end on tiny generated images (CPU, seconds)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.tasks import restore

SHARED = Path(os.environ.get("LESSON7_SHARED",
                            Path(__file__).resolve().parents[2] / ".." / "shared"))
torch.set_num_threads(1)


def _cli(*argv: str) -> int:
    p = argparse.ArgumentParser()
    restore.register(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(["restore", *map(str, argv)])
    return args.func(args)


def _images(folder: Path, n: int = 8, size=(48, 40)) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        y, x = np.mgrid[0:size[1], 0:size[0]]
        a = np.stack([np.sin(x / (3 + i)), np.cos(y / (2 + i)), np.sin((x + y) / 5)], -1)
        Image.fromarray(((a + 1) * 127).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("restore")
    hr = _images(root / "hr")
    out = root / "run"
    rc = _cli("train", "--hr", hr, "--degrade", "bicubic-x2", "--arch", "resnet18",
              "--no-pretrained", "--size", "32", "--bs", "4", "--epochs", "1",
              "--unfreeze-epochs", "0", "--valid-pct", "0.25", "--workers", "1",
              "--out", out, "--device", "cpu", "--no-self-attention")
    assert rc == 0
    return out


def test_train_writes_checkpoint_config_metrics_and_results(trained):
    for name in ("model.safetensors", "model.json", "config.json", "metrics.json", "results.png"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["n_pairs"] == 8 and len(metrics["history"]) == 1
    assert np.isfinite(metrics["final"]["valid_loss"])
    meta = json.loads((trained / "model.json").read_text())
    assert meta["task"] == "restore" and meta["arch"] == "resnet18" and meta["scale"] == 2.0
    sheet = Image.open(trained / "results.png")
    assert sheet.size[0] == 3 * 32  # input | prediction | target
    assert sorted(p.name for p in (trained / "lowres").rglob("*.png"))[0] == "im0.png"


@pytest.mark.parametrize("pretrained_flags, discriminative", [
    (["--no-pretrained"], False),
    (["--no-pretrained", "--encoder-weights", "ENC"], True),
])
def test_unfrozen_lrs_are_discriminative_only_for_pretrained_encoders(
        tmp_path, monkeypatch, pretrained_flags, discriminative):
    from safetensors.torch import save_file
    from torchvision.models import resnet18

    from lesson7.train.learner import Learner

    enc = tmp_path / "enc.safetensors"
    save_file(resnet18().state_dict(), enc)  # a classifier's state dict, as a user would pass
    seen = []
    monkeypatch.setattr(Learner, "fit_one_cycle",
                        lambda self, n, lr=None, **kw: seen.append(lr))
    hr = _images(tmp_path / "hr", n=4)
    flags = [str(enc) if f == "ENC" else f for f in pretrained_flags]
    assert _cli("train", "--hr", hr, "--degrade", "bicubic-x2", "--arch", "resnet18", *flags,
                "--size", "32", "--bs", "2", "--epochs", "0", "--unfreeze-epochs", "1",
                "--lr", "1e-3", "--valid-pct", "0.25", "--workers", "1", "--out", tmp_path / "run",
                "--device", "cpu", "--no-self-attention") == 0
    expected = slice(1e-6, 1e-3) if discriminative else 1e-3
    assert seen == [expected]


def test_predict_any_size_exif_and_never_overwrites(trained, tmp_path):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90°
    img.save(tmp_path / "photo.jpg", exif=exif.tobytes())
    before = (tmp_path / "photo.jpg").read_bytes()
    rc = _cli("predict", trained, tmp_path / "photo.jpg", "--out", tmp_path / "out",
              "--tile", "32", "--overlap", "8", "--device", "cpu")
    assert rc == 0
    out = Image.open(tmp_path / "out" / "photo.png")
    assert out.size == (60, 100)  # upright (30x50 -> 50x30 displayed), then x2
    assert (tmp_path / "photo.jpg").read_bytes() == before
    img.save(tmp_path / "same.png")
    assert _cli("predict", trained, tmp_path / "same.png", "--out", tmp_path) == 2


def test_eval_writes_model_and_baseline_metrics(trained, tmp_path):
    weights = SHARED / "weights" / "alexnet_features.safetensors"
    if not weights.is_file():
        pytest.skip("LPIPS trunk weights (../shared/weights) absent")
    hr = _images(tmp_path / "hr", n=2, size=(40, 36))
    rc = _cli("eval", trained, "--hr", hr, "--device", "cpu", "--lpips-weights", weights,
              "--out", tmp_path / "eval")
    assert rc == 0
    res = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert res["n_images"] == 2 and res["degrade"] == "bicubic-x2" and res["shave"] == 2
    for side in ("model", "baseline"):
        assert set(res[side]) == {"psnr", "psnr_y", "ssim", "lpips"}
        assert all(np.isfinite(v) for v in res[side].values())


def test_bad_flags_exit_2(tmp_path, capsys):
    hr = _images(tmp_path / "hr", n=2)
    assert _cli("train", "--hr", hr, "--out", tmp_path / "o") == 2
    assert "exactly one of --lowres" in capsys.readouterr().err
    assert _cli("train", "--hr", hr, "--crappify", "lesson", "--size", "8",
                "--out", tmp_path / "o") == 2
    lr = _images(tmp_path / "lr", n=3)
    (lr / "im2.png").rename(lr / "extra.png")
    assert _cli("train", "--hr", hr, "--lowres", lr, "--out", tmp_path / "o", "--no-pretrained",
                "--arch", "resnet18") == 2
    assert "without a matching HR image" in capsys.readouterr().err
    assert _cli("predict", tmp_path / "nope", hr / "im0.png", "--out", tmp_path / "p") == 2


def test_an_interrupted_train_resumes_where_it_stopped(tmp_path, monkeypatch, capsys):
    hr = _images(tmp_path / "hr", n=4)
    flags = ["train", "--hr", hr, "--degrade", "bicubic-x2", "--arch", "resnet18", "--no-pretrained",
             "--size", "32", "--bs", "2", "--epochs", "1", "--unfreeze-epochs", "2",
             "--valid-pct", "0.25", "--workers", "1", "--out", tmp_path / "run", "--device", "cpu",
             "--no-self-attention"]
    from lesson7.train.callbacks import SaveEveryEpoch

    save = SaveEveryEpoch.after_epoch
    calls = []

    def save_then_die(self, learn):
        save(self, learn)
        calls.append(learn.epoch)
        if len(calls) == 2:  # the frozen epoch and the first unfrozen one are done
            raise KeyboardInterrupt

    monkeypatch.setattr(SaveEveryEpoch, "after_epoch", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        _cli(*flags)
    assert not (tmp_path / "run" / "model.safetensors").exists()  # nothing presented as done
    assert (tmp_path / "run" / "state" / "last.safetensors").is_file()

    # other settings in the same --out: refused, naming what changed
    assert _cli(*[("2e-3" if f == "--lr" else f) for f in flags], "--lr", "2e-3") == 2
    assert "lr" in capsys.readouterr().err

    monkeypatch.setattr(SaveEveryEpoch, "after_epoch", save)
    assert _cli(*flags) == 0
    assert "resuming" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 0, 1]  # frozen 0; unfrozen 0, 1
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert not (tmp_path / "run" / "state").exists()


def test_start_epoch_continues_the_one_cycle_schedule():
    from lesson7.train.learner import Learner

    class TwoBatches:
        train_dl = [(torch.zeros(2, 1), torch.zeros(2, 1))] * 2
        valid_dl = [(torch.zeros(2, 1), torch.zeros(2, 1))]

    def lrs(start_epoch):
        learn = Learner(torch.nn.Linear(1, 1), TwoBatches(), torch.nn.functional.mse_loss,
                        device="cpu", progress=False)
        learn.recorder.printer = None
        learn.fit_one_cycle(3, 1e-2, start_epoch=start_epoch)
        return learn.recorder.lrs

    full, resumed = lrs(0), lrs(2)
    assert len(full) == 6 and resumed == pytest.approx(full[4:])  # the last epoch's two batches
    with pytest.raises(ValueError, match="start_epoch"):
        lrs(3)
