"""`lesson7 gan critic | train | restore | compare` through `lesson7.cli.main`: the commands run
end to end offline (no LPIPS weights), their outputs feed each other and `restore predict`, and
every bad flag value exits 2 with a one-line `error:` naming the flag."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.cli import main
from lesson7.data.synthetic import make_toy_scenes

pytestmark = pytest.mark.usefixtures("one_thread")


def cli(*argv) -> int:
    """`lesson7 ARGV`'s exit code (argparse's own errors raise SystemExit)."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


def one_line_error(capsys) -> str:
    """The single `error:` line on stderr (no traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def _no_weights(mp, root):
    """No ImageNet AlexNet anywhere (LPIPS unavailable) and no download attempts."""
    for var in ("LESSON7_WEIGHTS", "TORCH_HOME", "XDG_DATA_HOME"):
        (root / var.lower()).mkdir(exist_ok=True)
        mp.setenv(var, str(root / var.lower()))
    mp.setenv("LESSON7_OFFLINE", "1")


@pytest.fixture
def no_weights(monkeypatch, tmp_path_factory):
    _no_weights(monkeypatch, tmp_path_factory.mktemp("no_weights"))


def _folder(root, n, noisy, seed):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        if noisy:
            arr = rng.uniform(0, 255, (32, 32, 3))
        else:
            arr = np.broadcast_to(np.linspace(0, 255, 32)[None, :, None], (32, 32, 3))
        Image.fromarray(arr.astype(np.uint8)).save(root / f"{i}.png")
    return root


# -- gan critic -------------------------------------------------------------------------------
def test_gan_critic_end_to_end(tmp_path, capsys):
    fake, real = _folder(tmp_path / "image_gen", 24, True, 0), _folder(tmp_path / "images", 24, False, 1)
    out = tmp_path / "run"
    assert cli("gan", "critic", "--fake", fake, "--real", real, "--size", 32, "--nf", 8,
               "--n-blocks", 1, "--bs", 8, "--epochs", 4, "--lr", 3e-3, "--device", "cpu",
               "--out", out) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["accuracy_per_epoch"]) == 4 and m["accuracy_per_epoch"][-1] >= 0.9
    assert (out / "critic.safetensors").exists()
    assert "critic accuracy_thresh_expand per epoch" in capsys.readouterr().out


# -- gan restore, then train / compare / restore predict on its runs -------------------------
TINY = ["--size", 32, "--arch", "resnet18", "--no-pretrained", "--identity-init",
        "--no-self-attention", "--bs", 4, "--gen-epochs", 1, "--gen-unfreeze-epochs", 0,
        "--critic-epochs", 1, "--critic-nf", 8, "--critic-n-blocks", 1, "--gan-epochs", 1,
        "--critic-thresh", 10, "--workers", 1, "--device", "cpu"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("gan_cli")
    hr = make_toy_scenes(root / "hr", n=12, size=32)
    with pytest.MonkeyPatch.context() as mp:
        _no_weights(mp, root)
        assert cli("gan", "restore", "--hr", hr, *TINY, "--out", root / "out") == 0
    return hr, root / "out"


def test_gan_restore_runs_the_chain_without_lpips_weights(chain, capsys):
    hr, out = chain
    for stage in ("generator/model.safetensors", "critic/critic.safetensors",
                  "gan/model.safetensors", "report.md", "metrics.json"):
        assert (out / stage).is_file()
    assert len(list((out / "image_gen").rglob("*.png"))) == 12
    table = json.loads((out / "metrics.json").read_text())
    assert table["metrics"]["lpips"]["after_gan"] is None
    assert np.isfinite(table["metrics"]["psnr"]["after_gan"])
    assert "| lpips (lower is better) | n/a | n/a | n/a | n/a |" in (out / "report.md").read_text()


def test_gan_train_from_a_generator_run_and_a_critic_run(chain, tmp_path, capsys):
    _, out = chain
    assert cli("gan", "train", "--generator", out / "generator", "--critic", out / "critic",
               "--size", 32, "--epochs", 1, "--bs", 4, "--critic-thresh", 10, "--device", "cpu",
               "--out", tmp_path / "gan") == 0
    m = json.loads((tmp_path / "gan" / "metrics.json").read_text())
    assert m["complete"] and len(m["history"]) == 1
    assert json.loads((tmp_path / "gan" / "model.json").read_text())["task"] == "restore"
    assert "GAN done: 1 epochs" in capsys.readouterr().out


def test_gan_compare_without_lpips_weights(chain, tmp_path, no_weights, capsys):
    hr, out = chain
    argv = ["gan", "compare", "--before", out / "generator", "--after", out / "gan", "--hr", hr,
            "--device", "cpu", "--out", tmp_path / "cmp"]
    assert cli(*argv) == 2                                   # LPIPS asked for, but no weights
    line = one_line_error(capsys)
    assert line.startswith("lesson7 gan compare: error:") and "--no-lpips" in line
    assert cli(*argv, "--no-lpips") == 0
    ours = json.loads((tmp_path / "cmp" / "metrics.json").read_text())["metrics"]
    chained = json.loads((out / "metrics.json").read_text())["metrics"]
    assert ours["psnr"]["after_gan"] == pytest.approx(chained["psnr"]["after_gan"])
    assert ours["lpips"]["after_gan"] is None
    assert "| lpips (lower is better) | n/a |" in capsys.readouterr().out


def test_a_gan_run_is_a_restore_run_for_predict(chain, tmp_path):
    hr, out = chain
    assert cli("restore", "predict", out / "gan", hr / "scene_000.png", "--out", tmp_path / "pred",
               "--device", "cpu") == 0
    assert Image.open(tmp_path / "pred" / "scene_000.png").size == (32, 32)


# -- bad flag values: exit 2, one line naming the flag ------------------------------------------
def _bad_flag_cases():
    d = "{dir}"  # an existing folder, filled in per test
    critic = ["gan", "critic", "--fake", d, "--real", d]
    train = ["gan", "train", "--generator", d, "--critic", d]
    restore = ["gan", "restore", "--hr", d]
    compare = ["gan", "compare", "--before", d, "--after", d, "--hr", d]
    wgan = ["wgan", "--data", d]
    return [
        (critic + ["--crop", "3"], "--crop"),
        (critic + ["--device", "potato"], "--device"),
        (critic + ["--lr", "nan"], "--lr"),
        (critic + ["--size", "32"], "--size"),             # too small for 3 critic blocks
        (critic + ["--fake", "{dir}/none"], "--fake"),
        (train + ["--weights-gen", "1"], "--weights-gen"),
        (train + ["--device", "potato"], "--device"),
        (train + ["--lr", "nan"], "--lr"),
        (train + ["--critic-thresh", "inf"], "--critic-thresh"),
        (train + ["--size", "32,48", "--epochs", "1,2,3"], "--epochs"),
        (train + ["--size", "x"], "--size"),
        (train + ["--generator", "{dir}/none"], "--generator"),
        (restore + ["--weights-gen", "1"], "--weights-gen"),
        (restore + ["--critic-crop", "3"], "--critic-crop"),
        (restore + ["--device", "potato"], "--device"),
        (restore + ["--gan-lr", "nan"], "--gan-lr"),
        (restore + ["--crappify", "lesson", "--degrade", "bicubic-x2"], "--degrade"),
        (restore + ["--hr", "{dir}/none"], "--hr"),
        (compare + ["--device", "potato"], "--device"),
        (compare + ["--eval-size", "3"], "--eval-size"),
        (compare + ["--hr", "{dir}/none"], "--hr"),
        (wgan + ["--device", "potato"], "--device"),
        (wgan + ["--lr", "nan"], "--lr"),
        (wgan + ["--channels", "2"], "--channels"),
        (wgan + ["--size", "48"], "--size"),
        (wgan + ["--bs", "0"], "--bs"),
    ]


@pytest.mark.parametrize(("argv", "flag"), _bad_flag_cases(),
                         ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else v)
def test_a_bad_flag_value_exits_2_naming_the_flag(tmp_path, monkeypatch, capsys, argv, flag):
    monkeypatch.chdir(tmp_path)  # the default --out is relative: anything written lands here
    assert cli(*[a.format(dir=tmp_path) for a in argv]) == 2
    line = one_line_error(capsys)
    assert flag in line
    assert list(tmp_path.iterdir()) == []                    # refused before any work


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("argv", [
    ["gan", "critic", "--fake", "{dir}", "--real", "{dir}"],
    ["gan", "train", "--generator", "{dir}", "--critic", "{dir}"],
    ["gan", "restore", "--hr", "{dir}"],
    ["gan", "compare", "--before", "{dir}", "--after", "{dir}", "--hr", "{dir}"],
    ["wgan", "--data", "{dir}"],
], ids=lambda v: " ".join(v[:2]))
def test_device_cuda_without_a_gpu_is_refused_before_any_work(tmp_path, monkeypatch, capsys,
                                                             argv):
    monkeypatch.chdir(tmp_path)  # the default --out is relative: anything written lands here
    assert cli(*[a.format(dir=tmp_path) for a in argv], "--device", "cuda") == 2
    line = one_line_error(capsys)
    assert "--device cuda" in line and line.startswith(f"lesson7 {' '.join(argv[:2])}"
                                                       if argv[0] == "gan" else "lesson7 wgan")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written
