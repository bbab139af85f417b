import argparse
import json

import numpy as np
import pytest
from PIL import Image

from lesson7.tasks import gan


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
