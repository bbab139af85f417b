"""Every command the README shows still runs (issue 10: "no behaviour change for users"): each
through `lesson7.cli.main` with the README's flags, plus the few that make it tiny (one epoch,
small images), in a temporary working folder so relative paths such as `runs/x4` mean what
they mean to a user. `lesson7 gan ...` is covered by tests/tasks/test_gan_cli.py."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.cli import TASKS, main
from lesson7.data.synthetic import make_toy_scenes
from lesson7.weights import find_weights

README = Path(__file__).resolve().parents[2] / "README.md"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """A fresh working folder and data cache, as a user's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    return tmp_path


def test_readme_still_shows_these_commands():
    """If the README changes, this file must change with it."""
    text = README.read_text()
    for shown in ("lesson7 mnist --model {basic,refactor,resnet}", "lesson7 crappify SRC DST",
                  "lesson7 restore train --hr photos/ --crappify lesson --out runs/mine",
                  "--degrade bicubic-x4 --arch resnet34 --no-pretrained --identity-init",
                  "lesson7 restore predict runs/x4 my_photo.jpg --out restored/",
                  "lesson7 restore eval runs/x4 --hr", "lesson7 numbers --model {0..5,lstm}",
                  "lesson7 wgan --data DIR [--gp]", "lesson7 demo --only mnist numbers",
                  "lesson7 <command> --help",
                  "lesson7 restore predict old_photo.jpg --out restored/",
                  "lesson7 restore predict photos/ --out restored/",
                  "lesson7 export shipped --onnx restorer_x4.onnx",
                  "--crappify lesson --arch efficientnet_lite0 --out runs/lite",
                  "lesson7 colorize old_photo.jpg --out coloured/",
                  "lesson7 colorize train --hr colour_photos/ --out runs/colorizer",
                  "lesson7 colorize eval runs/colorizer --hr held_out_photos/",
                  "lesson7 colorize old_photo.jpg --out coloured/ --model runs/colorizer",
                  "lesson7 report RUN_DIR [RUN_DIR...] [--out FILE]"):
        assert shown in text, shown


@pytest.mark.parametrize("command", TASKS)
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0 and "usage: lesson7" in capsys.readouterr().out


# -- lesson7 mnist --model {basic,refactor,resnet} ---------------------------------------------
@pytest.fixture(scope="module")
def mnist_png(tmp_path_factory) -> Path:
    """An mnist_png tree: 10 training and 5 testing digits per class from the packaged sample."""
    from lesson7.data.datasets import resolve_dataset
    from lesson7.demo import mnist_sample_path

    tmp = tmp_path_factory.mktemp("mnist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LESSON7_DATA", str(tmp / "cache"))
        sample = resolve_dataset(mnist_sample_path())
    for split, n in (("training", 10), ("testing", 5)):
        for digit in sorted(p.name for p in (sample / split).iterdir()):
            dst = tmp / "mnist_png" / split / digit
            dst.mkdir(parents=True)
            for f in sorted((sample / split / digit).iterdir())[:n]:
                shutil.copy(f, dst / f.name)
    return tmp / "mnist_png"


@pytest.mark.parametrize("model", ["basic", "refactor", "resnet"])
def test_mnist(model, mnist_png, in_tmp):
    assert main(["mnist", "--model", model, "--data", str(mnist_png), "--epochs", "1",
                 "--bs", "32", "--device", "cpu"]) == 0
    m = json.loads((in_tmp / "runs" / "mnist" / "metrics.json").read_text())  # the default --out
    assert m["model"] == model and len(m["history"]) == 1


def test_readme_python_example(mnist_png, in_tmp):
    """The README's "Using it from Python" block, run as written on the tiny tree, 1 epoch."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert '"mnist_png"' in code and "learn.fit_one_cycle(12, 0.05)" in code
    (in_tmp / "mnist_png").symlink_to(mnist_png)
    exec(code.replace("learn.fit_one_cycle(12, 0.05)", "learn.fit_one_cycle(1, 0.05)"), {})
    assert (in_tmp / "runs" / "learner" / "mnist-resnet.safetensors").is_file()


# -- lesson7 crappify SRC DST --------------------------------------------------------------------
def test_crappify(in_tmp):
    make_toy_scenes(in_tmp / "photos", n=4, size=128, seed=0)
    assert main(["crappify", "photos", "crappy", "--no-progress"]) == 0
    assert len(list((in_tmp / "crappy").glob("*.png"))) == 4
    assert min(Image.open(in_tmp / "crappy" / "scene_000.png").size) == 96  # the lesson's size


# -- lesson7 restore train / predict / eval ------------------------------------------------------
TINY = ["--size", "32", "--bs", "4", "--workers", "1", "--device", "cpu"]


def test_restore_train_the_lessons_recipe(in_tmp, monkeypatch):
    """`--hr photos/ --crappify lesson --out runs/mine`: a pretrained resnet34 encoder. torchvision's
    ImageNet file is stood in for by a random resnet34 under the name torchvision caches it as."""
    from torchvision.models import get_model_weights, resnet34

    monkeypatch.setenv("TORCH_HOME", str(in_tmp / "torch"))
    url = get_model_weights("resnet34").DEFAULT.url
    (in_tmp / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(resnet34().state_dict(), in_tmp / "torch" / "hub" / "checkpoints" / Path(url).name)
    make_toy_scenes(in_tmp / "photos", n=10, size=64, seed=0)
    assert main(["restore", "train", "--hr", "photos/", "--crappify", "lesson", "--out",
                 "runs/mine", *TINY, "--epochs", "1", "--unfreeze-epochs", "1"]) == 0
    run = in_tmp / "runs" / "mine"
    assert (run / "model.safetensors").is_file() and not (run / "state").exists()
    assert json.loads((run / "model.json").read_text())["degrade"] == "lesson"


@pytest.fixture(scope="module")
def x4_run(tmp_path_factory) -> Path:
    """The README's offline x4 command (two --hr folders, resnet34 from scratch, identity init),
    with a 32 px, one-epoch budget; run in its own working folder as `runs/x4`."""
    cwd = tmp_path_factory.mktemp("x4")
    make_toy_scenes(cwd / "bsds500" / "train", n=6, size=48, seed=0)
    make_toy_scenes(cwd / "t91", n=4, size=48, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        assert main(["restore", "train", "--hr", "bsds500/train", "t91", "--degrade", "bicubic-x4",
                     "--arch", "resnet34", "--no-pretrained", "--identity-init", "--size", "32",
                     "--bs", "4", "--epochs", "0", "--unfreeze-epochs", "1", "--lr", "1e-3",
                     "--out", "runs/x4", "--workers", "1", "--device", "cpu"]) == 0
    return cwd


def test_restore_train_x4(x4_run):
    m = json.loads((x4_run / "runs" / "x4" / "metrics.json").read_text())
    assert m["n_pairs"] == 10 and len(m["history"]) == 1
    assert json.loads((x4_run / "runs" / "x4" / "model.json").read_text())["scale"] == 4.0


def test_restore_predict(x4_run, monkeypatch):
    monkeypatch.chdir(x4_run)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save("my_photo.jpg")
    assert main(["restore", "predict", "runs/x4", "my_photo.jpg", "--out", "restored/",
                 "--device", "cpu"]) == 0
    assert Image.open(x4_run / "restored" / "my_photo.png").size == (120, 80)  # x4


def test_restore_eval(x4_run, monkeypatch, capsys):
    """`restore eval runs/x4 --hr set5`, with LPIPS when its trunk weights are found."""
    monkeypatch.chdir(x4_run)
    make_toy_scenes(x4_run / "set5", n=2, size=48, seed=9)
    lpips = [] if find_weights("alexnet_features.safetensors") else ["--no-lpips"]
    assert main(["restore", "eval", "runs/x4", "--hr", "set5", "--device", "cpu", *lpips]) == 0
    res = json.loads((x4_run / "runs" / "x4" / "eval_set5_bicubic-x4" / "metrics.json").read_text())
    assert res["n_images"] == 2 and res["shave"] == 4
    assert json.loads(capsys.readouterr().out)["n_images"] == 2


# -- lesson7 numbers, wgan, demo ----------------------------------------------------------------
def test_numbers(in_tmp):
    assert main(["numbers", "--model", "5", "--epochs", "1", "--bs", "256", "--device", "cpu"]) == 0
    assert (in_tmp / "runs" / "numbers" / "metrics.json").is_file()
    assert (in_tmp / "cache" / "human_numbers" / "train.txt").is_file()  # generated in the data dir


@pytest.mark.parametrize("gp", [[], ["--gp"]])
def test_wgan(gp, in_tmp):
    make_toy_scenes(in_tmp / "faces", n=16, size=24, seed=0)
    assert main(["wgan", "--data", "faces", *gp, "--size", "16", "--bs", "8", "--epochs", "1",
                 "--n-features", "8", "--device", "cpu"]) == 0
    m = json.loads((in_tmp / "runs" / "wgan" / "metrics.json").read_text())
    assert m["variant"] == ("wgan-gp" if gp else "wgan-clip")


@pytest.mark.slow  # ten GRU epochs: ~10 s on 2 shared cores
def test_demo_only(in_tmp):
    """`lesson7 demo --only ...`, on its quickest stage (the whole demo is minutes)."""
    assert main(["demo", "--only", "numbers", "--device", "cpu"]) == 0
    summary = json.loads((in_tmp / "runs" / "demo" / "summary.json").read_text())
    assert list(summary) == ["numbers"] and summary["numbers"]["status"] == "done"
    figures = {f["name"]: f["ours"] for f in summary["numbers"]["figures"]}
    assert figures["next-word accuracy (validation)"] > 0.5


def test_restore_predict_with_the_shipped_model(in_tmp):
    """`lesson7 restore predict old_photo.jpg --out restored/` and a folder, no training."""
    Path("photos").mkdir()
    rng = np.random.default_rng(0)
    for name in ("old_photo.jpg", "photos/a.jpg", "photos/b.png"):
        Image.fromarray(rng.integers(0, 255, (24, 20, 3), dtype=np.uint8)).save(name)
    assert main(["restore", "predict", "old_photo.jpg", "--out", "restored/"]) == 0
    assert Image.open("restored/old_photo.png").size == (80, 96)
    assert main(["restore", "predict", "photos/", "--out", "restored/"]) == 0
    assert sorted(p.name for p in Path("restored").iterdir()) == ["a.png", "b.png", "old_photo.png"]
    assert main(["restore", "predict", "photos/", "--out", "restored/"]) == 0  # skips, no error


def test_restore_train_on_the_packaged_encoder(in_tmp):
    """`--arch efficientnet_lite0`: the lesson's recipe on an encoder that installs with us."""
    make_toy_scenes("photos", n=12, size=48, seed=0)
    rc = main(["restore", "train", "--hr", "photos/", "--crappify", "lesson", "--arch",
               "efficientnet_lite0", "--out", "runs/lite", "--size", "32", "--bs", "4",
               "--epochs", "1", "--unfreeze-epochs", "1"])
    assert rc == 0 and Path("runs/lite/model.safetensors").is_file()


# -- lesson7 colorize ---------------------------------------------------------------------------
def test_colorize_train_eval_and_use(in_tmp, capsys, vgg16_trunk):
    """`colorize train` (one tiny epoch each way), `colorize eval`, `colorize PHOTO --model RUN`,
    and `colorize PHOTO` with the shipped colorizer (or the message saying none is installed)."""
    from lesson7.colorize.shipped import shipped_colorizer_path

    make_toy_scenes("colour_photos", n=10, size=48, seed=0)
    make_toy_scenes("held_out_photos", n=2, size=48, seed=5)
    Image.open("held_out_photos/scene_000.png").convert("L").save("old_photo.jpg")
    assert main(["colorize", "train", "--hr", "colour_photos/", "--out", "runs/colorizer",
                 "--size", "32", "--bs", "4", "--encoder-depth", "5", "--epochs", "1",
                 "--unfreeze-epochs", "1", "--device", "cpu"]) == 0
    lpips = [] if find_weights("alexnet_features.safetensors") else ["--no-lpips"]
    assert main(["colorize", "eval", "runs/colorizer", "--hr", "held_out_photos/",
                 "--device", "cpu", *lpips]) == 0
    assert Path("runs/colorizer/eval_held_out_photos/metrics.json").is_file()
    assert main(["colorize", "old_photo.jpg", "--out", "coloured/", "--model",
                 "runs/colorizer", "--device", "cpu"]) == 0
    assert Image.open("coloured/old_photo.png").size == (48, 48)
    capsys.readouterr()
    try:
        shipped_colorizer_path()
        installed = True
    except ValueError:
        installed = False
    rc = main(["colorize", "old_photo.jpg", "--out", "coloured_shipped/", "--device", "cpu"])
    if installed:
        assert rc == 0 and Path("coloured_shipped/old_photo.png").is_file()
    else:
        assert rc == 2 and "no shipped colorizer is installed" in capsys.readouterr().err
