"""`lesson7 restore train | predict | eval` end to end through `lesson7.cli.main`, on tiny generated
images (CPU, seconds): the run folder, resume (issue 11 item 1), prediction, evaluation without
LPIPS weights, and one-line errors for bad flags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from lesson7.cli import main
from lesson7.configs.restore import RestoreTrainConfig
from lesson7.data.synthetic import make_toy_scenes
from lesson7.restore.train import train_restorer
from lesson7.train import Callback


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """A tiny U-Net on 2 shared cores: one thread is as fast and does not fight other jobs; and
    the same thread count for every run here, so runs can be compared bitwise."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train_flags(hr: Path, out: str | Path) -> list[str]:
    """A frozen epoch then two unfrozen ones (3 batches each) of a resnet18 U-Net at 32 px."""
    return ["restore", "train", "--hr", str(hr), "--degrade", "bicubic-x2", "--arch", "resnet18",
            "--no-pretrained", "--size", "32", "--bs", "2", "--epochs", "1",
            "--unfreeze-epochs", "2", "--valid-pct", "0.25", "--workers", "1", "--out", str(out),
            "--device", "cpu", "--no-self-attention"]


@pytest.fixture(scope="module")
def hr_dir(tmp_path_factory) -> Path:
    return make_toy_scenes(tmp_path_factory.mktemp("restore") / "hr", n=8, size=40, seed=0)


@pytest.fixture(scope="module")
def trained(hr_dir) -> Path:
    out = hr_dir.parent / "run"
    assert main(train_flags(hr_dir, out)) == 0
    return out


def test_train_writes_checkpoint_config_metrics_and_results(trained):
    for name in ("model.safetensors", "model.json", "config.json", "metrics.json", "results.png"):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["n_pairs"] == 8
    assert [h["epoch"] for h in metrics["history"]] == [0, 0, 1]  # frozen 0; unfrozen 0, 1
    assert np.isfinite(metrics["final"]["valid_loss"])
    meta = json.loads((trained / "model.json").read_text())
    assert meta["task"] == "restore" and meta["arch"] == "resnet18" and meta["scale"] == 2.0
    assert Image.open(trained / "results.png").size[0] == 3 * 32  # input | prediction | target
    assert sorted(p.name for p in (trained / "lowres").rglob("*.png"))[0] == "scene_000.png"
    assert not (trained / "state").exists()  # finished: no resume point left behind


class InterruptAfter(Callback):
    """Ctrl-C after `n` epochs, once the epoch's resume point is on disk (SaveEveryEpoch: 99)."""

    order = 100

    def __init__(self, n: int) -> None:
        self.n, self.done = n, 0

    def after_epoch(self, learn) -> None:
        self.done += 1
        if self.done == self.n:
            raise KeyboardInterrupt


def test_interrupted_train_with_relative_out_resumes_at_the_next_epoch(
        hr_dir, trained, tmp_path, monkeypatch, capsys):
    """Issue 11 item 1: with a relative --out (the default), the state went to OUT/OUT/state and
    a rerun started at epoch 0. The state must be OUT/state, the rerun must continue with the
    next epoch and end with the same weights as an uninterrupted run, and no state is left."""
    monkeypatch.chdir(tmp_path)
    flags = train_flags(hr_dir, "runs/r1")
    cfg = RestoreTrainConfig(hr=[hr_dir], degrade="bicubic-x2", arch="resnet18", pretrained=False,
                             size=[32], bs=2, epochs=1, unfreeze_epochs=2, valid_pct=0.25,
                             workers=1, out=Path("runs/r1"), device="cpu", self_attention=False)
    with pytest.raises(KeyboardInterrupt):  # the frozen epoch and the first unfrozen one done
        train_restorer(cfg, cbs=[InterruptAfter(2)])
    run = tmp_path / "runs" / "r1"
    assert (run / "state" / "last.safetensors").is_file()
    assert not (run / "runs").exists()  # not joined onto itself
    assert not (run / "model.safetensors").exists()  # nothing presented as done
    capsys.readouterr()

    # other settings in the same --out: refused, naming what changed
    assert main([*flags, "--lr", "2e-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "lr" in err and "unfinished run" in err and len(err.splitlines()) == 1

    assert main(flags) == 0
    assert "phase 2, epoch 2 of 2" in capsys.readouterr().out  # not epoch 1 again
    metrics = json.loads((run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 0, 1]
    assert not (run / "state").exists() and not (run / "runs").exists()
    resumed, uninterrupted = load_file(run / "model.safetensors"), load_file(trained / "model.safetensors")
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)  # seeded: bitwise


def test_predict_any_size_exif_and_never_overwrites(trained, tmp_path, capsys):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90°
    img.save(tmp_path / "photo.jpg", exif=exif.tobytes())
    before = (tmp_path / "photo.jpg").read_bytes()
    rc = main(["restore", "predict", str(trained), str(tmp_path / "photo.jpg"),
               "--out", str(tmp_path / "out"), "--tile", "32", "--overlap", "8", "--device", "cpu"])
    assert rc == 0
    out = Image.open(tmp_path / "out" / "photo.png")
    assert out.size == (60, 100)  # upright (30x50 -> 50x30 displayed), then x2
    assert (tmp_path / "photo.jpg").read_bytes() == before
    img.save(tmp_path / "same.png")
    capsys.readouterr()
    assert main(["restore", "predict", str(trained), str(tmp_path / "same.png"),
                 "--out", str(tmp_path)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """No pretrained weights anywhere: empty weights dir, torch hub cache and user data dir;
    LESSON7_OFFLINE, so nothing tries to download."""
    for var in ("LESSON7_WEIGHTS", "TORCH_HOME", "XDG_DATA_HOME"):
        empty = tmp_path / f"empty_{var.lower()}"
        empty.mkdir()
        monkeypatch.setenv(var, str(empty))
    monkeypatch.setenv("LESSON7_OFFLINE", "1")


def test_eval_no_lpips_needs_no_weights(trained, tmp_path, no_weights, capsys):
    hr = make_toy_scenes(tmp_path / "hr", n=2, size=36, seed=5)
    rc = main(["restore", "eval", str(trained), "--hr", str(hr), "--no-lpips", "--device", "cpu",
               "--out", str(tmp_path / "eval")])
    assert rc == 0
    res = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert res["n_images"] == 2 and res["degrade"] == "bicubic-x2" and res["shave"] == 2
    for side in ("model", "baseline"):
        assert res[side]["lpips"] is None
        assert all(np.isfinite(res[side][k]) for k in ("psnr", "psnr_y", "ssim"))
    assert json.loads(capsys.readouterr().out)["n_images"] == 2

    # with LPIPS and no trunk weights: one line naming the missing file and the way out
    assert main(["restore", "eval", str(trained), "--hr", str(hr), "--device", "cpu",
                 "--out", str(tmp_path / "eval2")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lesson7 restore eval: error:")
    assert "alexnet_features.safetensors" in err and "--no-lpips" in err
    assert not (tmp_path / "eval2" / "metrics.json").exists()


def test_eval_with_lpips_weights(trained, tmp_path):
    from lesson7.weights import find_weights

    weights = find_weights("alexnet_features.safetensors")
    if weights is None:
        pytest.skip("LPIPS trunk weights not in $LESSON7_WEIGHTS")
    hr = make_toy_scenes(tmp_path / "hr", n=2, size=36, seed=5)
    assert main(["restore", "eval", str(trained), "--hr", str(hr), "--device", "cpu",
                 "--lpips-weights", str(weights), "--out", str(tmp_path / "eval")]) == 0
    res = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert all(np.isfinite(v) for side in ("model", "baseline") for v in res[side].values())


def test_user_errors_exit_2_without_a_traceback(hr_dir, tmp_path, capsys):
    def err_of(*argv: str) -> str:
        assert main(["restore", *argv]) == 2
        err = capsys.readouterr().err.strip()  # one `error:` line (a list of files may follow)
        assert err.startswith(f"lesson7 restore {argv[0]}: error: ") and "Traceback" not in err
        return err

    assert "exactly one of --lowres" in _usage_error(
        ["restore", "train", "--hr", str(hr_dir), "--out", str(tmp_path / "o")], capsys)
    lr = make_toy_scenes(tmp_path / "lr", n=3, size=20, seed=1)
    (lr / "scene_002.png").rename(lr / "extra.png")
    assert "without a matching HR image" in err_of(
        "train", "--hr", str(hr_dir), "--lowres", str(lr), "--out", str(tmp_path / "o"),
        "--no-pretrained", "--arch", "resnet18", "--device", "cpu")
    assert "no restore checkpoint" in err_of(
        "predict", str(tmp_path / "nope"), str(hr_dir / "scene_000.png"), "--out", str(tmp_path / "p"))


def _usage_error(argv: list[str], capsys) -> str:
    """argparse's exit 2; returns the `error:` line (the usage lines come before it)."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("lesson7 ") and ": error: " in lines[-1]
    return lines[-1]


@pytest.mark.parametrize("flag, value", [
    ("--device", "potato"), ("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"), ("--bs", "0"),
    ("--size", "8"), ("--valid-pct", "1.5"), ("--epochs", "-1"), ("--wd", "-1"),
    ("--norm", "potato"), ("--identity-init --norm", "batch"),
])
def test_train_bad_flag_values_exit_2_naming_the_flag(hr_dir, tmp_path, flag, value, capsys):
    argv = train_flags(hr_dir, tmp_path / "o")
    *switches, flag = flag.split()
    i = argv.index(flag) if flag in argv else len(argv)
    argv[i:i + 2] = [*switches, flag, value]
    assert flag in _usage_error(argv, capsys)
    assert not (tmp_path / "o").exists()  # refused before anything is written


@pytest.mark.parametrize("flag, value", [
    ("--device", "potato"), ("--tile", "0"), ("--overlap", "-1"), ("--scale", "nan"),
    ("--scale", "0"),
])
def test_predict_bad_flag_values_exit_2_naming_the_flag(trained, hr_dir, tmp_path, flag, value,
                                                        capsys):
    argv = ["restore", "predict", str(trained), str(hr_dir / "scene_000.png"),
            "--out", str(tmp_path / "p"), flag, value]
    assert flag in _usage_error(argv, capsys)


@pytest.mark.parametrize("flag, value", [
    ("--device", "potato"), ("--tile", "0"), ("--eval-size", "0"), ("--seed", "nan"),
])
def test_eval_bad_flag_values_exit_2_naming_the_flag(trained, hr_dir, tmp_path, flag, value,
                                                     capsys):
    argv = ["restore", "eval", str(trained), "--hr", str(hr_dir), flag, value]
    assert flag in _usage_error(argv, capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_train_device_cuda_without_cuda_fails_before_making_data(hr_dir, tmp_path, capsys):
    argv = train_flags(hr_dir, tmp_path / "o")
    argv[argv.index("--device") + 1] = "cuda"
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--device cuda" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "lowres").exists()
