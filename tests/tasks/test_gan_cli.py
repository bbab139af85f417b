import argparse
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.tasks import gan

torch.set_num_threads(1)


def _cli(argv):
    parser = argparse.ArgumentParser(prog="lesson7")
    gan.register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["gan", *argv])
    return args.func(args)


def _folder(root, n, noisy, seed):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        if noisy:
            arr = rng.uniform(0, 255, (32, 32, 3))
        else:
            arr = np.broadcast_to(np.linspace(0, 255, 32)[None, :, None], (32, 32, 3))
        Image.fromarray(arr.astype(np.uint8)).save(root / f"{i}.png")


def test_gan_critic_cli_end_to_end(tmp_path):
    _folder(tmp_path / "image_gen", 24, True, 0)
    _folder(tmp_path / "images", 24, False, 1)
    out = tmp_path / "run"
    rc = _cli(["critic", "--fake", str(tmp_path / "image_gen"), "--real", str(tmp_path / "images"),
               "--size", "32", "--nf", "8", "--n-blocks", "1", "--bs", "8", "--epochs", "4",
               "--lr", "3e-3", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["accuracy_per_epoch"]) == 4
    assert m["accuracy_per_epoch"][-1] >= 0.9
    assert (out / "critic.safetensors").exists()


def test_gan_critic_cli_names_bad_flags(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _cli(["critic", "--fake", str(tmp_path / "nope"), "--real", str(tmp_path)])
    assert "--fake" in capsys.readouterr().err
    (tmp_path / "a").mkdir()
    with pytest.raises(SystemExit):
        _cli(["critic", "--fake", str(tmp_path / "a"), "--real", str(tmp_path), "--size", "32"])
    assert "--size" in capsys.readouterr().err
    with pytest.raises(SystemExit):   # a 32 px crop leaves 3 blocks a 2x2 map
        _cli(["critic", "--fake", str(tmp_path / "a"), "--real", str(tmp_path), "--size", "96",
              "--crop", "32"])
    assert "--crop must be between 64" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(["restore", "--hr", str(tmp_path), "--size", "96", "--critic-crop", "128"])
    assert "--critic-crop" in capsys.readouterr().err


# -- gan train / restore / compare ------------------------------------------------------------
SHARED = Path(os.environ.get("LESSON7_SHARED",
                             Path(__file__).resolve().parents[2] / ".." / "shared"))
ALEXNET = SHARED / "weights" / "alexnet_features.safetensors"


def _smooth_images(folder, n=12, size=(56, 48)):
    folder.mkdir(parents=True)
    for i in range(n):
        y, x = np.mgrid[0:size[1], 0:size[0]]
        a = np.stack([np.sin(x / (3 + i)), np.cos(y / (2 + i)), np.sin((x + y) / 5)], -1)
        Image.fromarray(((a + 1) * 127).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


TINY = ["--size", "32", "--arch", "resnet18", "--no-pretrained", "--no-self-attention",
        "--bs", "4", "--gen-epochs", "1", "--gen-unfreeze-epochs", "0", "--critic-epochs", "1",
        "--critic-nf", "8", "--critic-n-blocks", "1", "--gan-epochs", "1", "--critic-thresh", "10",
        "--workers", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    if not ALEXNET.is_file():
        pytest.skip("LPIPS trunk weights (../shared/weights) absent")
    root = tmp_path_factory.mktemp("chain")
    hr = _smooth_images(root / "hr")
    out = root / "out"
    rc = _cli(["restore", "--hr", str(hr), *TINY, "--lpips-weights", str(ALEXNET),
               "--out", str(out)])
    assert rc == 0
    return hr, out


def test_gan_restore_runs_every_stage_and_reports_before_vs_after(chain):
    hr, out = chain
    assert (out / "generator" / "model.safetensors").is_file()
    assert len(list((out / "image_gen").rglob("*.png"))) == 12  # one prediction per input
    assert (out / "critic" / "critic.safetensors").is_file()
    assert json.loads((out / "gan" / "metrics.json").read_text())["complete"] is True
    table = json.loads((out / "metrics.json").read_text())
    assert table["n_images"] == 12 and table["held_in"] is True
    for m in ("psnr", "ssim", "lpips"):
        row = table["metrics"][m]
        assert all(np.isfinite(row[k]) for k in ("input", "before_gan", "after_gan"))
        assert row["before_gan"] != row["after_gan"]  # two different generators were scored
    assert "| lpips (lower is better) |" in (out / "report.md").read_text()


def test_gan_restore_skips_every_finished_stage(chain, capsys):
    hr, out = chain
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.safetensors")}
    assert _cli(["restore", "--hr", str(hr), *TINY, "--lpips-weights", str(ALEXNET),
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    skipped = re.findall(r"^\[\d/5\] ([\w ]+): skipped", said, flags=re.M)
    assert skipped == ["generator", "predictions", "critic", "GAN", "eval before_gan",
                       "eval after_gan"]
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.safetensors")}


def test_gan_output_is_a_restore_run_for_predict_and_compare(chain, tmp_path):
    from lesson7.tasks import restore

    hr, out = chain
    p = argparse.ArgumentParser()
    restore.register(p.add_subparsers(dest="cmd"))
    args = p.parse_args(["restore", "predict", str(out / "gan"), str(hr / "im0.png"),
                         "--out", str(tmp_path / "pred"), "--device", "cpu"])
    assert args.func(args) == 0
    assert Image.open(tmp_path / "pred" / "im0.png").size == (56, 48)

    rc = _cli(["compare", "--before", str(out / "generator"), "--after", str(out / "gan"),
               "--hr", str(hr), "--lpips-weights", str(ALEXNET), "--device", "cpu",
               "--out", str(tmp_path / "cmp")])
    assert rc == 0
    ours = json.loads((tmp_path / "cmp" / "metrics.json").read_text())["metrics"]
    chained = json.loads((out / "metrics.json").read_text())["metrics"]
    assert ours["lpips"]["after_gan"] == pytest.approx(chained["lpips"]["after_gan"])


def test_gan_train_cli_from_a_generator_run_and_a_critic_run(chain, tmp_path):
    _, out = chain
    rc = _cli(["train", "--generator", str(out / "generator"), "--critic", str(out / "critic"),
               "--size", "32", "--epochs", "1", "--bs", "4", "--critic-thresh", "10",
               "--device", "cpu", "--out", str(tmp_path / "gan")])
    assert rc == 0
    m = json.loads((tmp_path / "gan" / "metrics.json").read_text())
    assert m["complete"] and len(m["history"]) == 1
    assert json.loads((tmp_path / "gan" / "model.json").read_text())["task"] == "restore"


def test_gan_train_cli_names_bad_flags(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _cli(["train", "--generator", str(tmp_path), "--critic", str(tmp_path),
              "--size", "32,48", "--epochs", "1,2,3"])
    assert "--epochs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(["train", "--generator", str(tmp_path), "--critic", str(tmp_path), "--size", "x"])
    assert "--size" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(["train", "--generator", str(tmp_path / "none"), "--critic", str(tmp_path)])
    assert "--generator" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(["restore", "--hr", str(tmp_path / "none")])
    assert "--hr" in capsys.readouterr().err
