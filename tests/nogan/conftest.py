"""Shared NoGAN fixtures: one tiny chain run (generated scenes, no pretrained weights of any kind)
whose generator and critic runs the GAN tests start from, and an environment without LPIPS weights."""

from __future__ import annotations

import json

import pytest

from lesson7.configs.nogan import NoGANConfig
from lesson7.data.synthetic import make_toy_scenes
from lesson7.nogan.chain import run_nogan


@pytest.fixture(autouse=True)
def _tiny_models_one_thread(one_thread):
    """Every NoGAN test runs tiny models: one torch thread (tests/conftest.py `one_thread`)."""

N_SCENES = 24


def no_weights_env(mp: pytest.MonkeyPatch, root) -> None:
    """No ImageNet AlexNet anywhere: empty weights dirs, an empty torch hub cache, no download."""
    for var in ("LESSON7_WEIGHTS", "TORCH_HOME", "XDG_DATA_HOME"):
        folder = root / var.lower()
        folder.mkdir(exist_ok=True)
        mp.setenv(var, str(folder))
    mp.setenv("LESSON7_OFFLINE", "1")


@pytest.fixture
def no_lpips_weights(monkeypatch, tmp_path_factory):
    no_weights_env(monkeypatch, tmp_path_factory.mktemp("no_weights"))


def tiny_chain_config(hr, out, **kw) -> NoGANConfig:
    """The chain at toy scale: 32 px, resnet18 from scratch starting as the identity, a 2-block
    critic, one epoch per stage; critic_thresh 10 lets the generator train in the GAN stage."""
    kw = {"size": 32, "arch": "resnet18", "pretrained": False, "identity_init": True,
          "self_attention": False, "bs": 8, "gen_epochs": 1, "gen_unfreeze_epochs": 0,
          "critic_epochs": 1, "critic_nf": 16, "critic_n_blocks": 2, "gan_epochs": 1,
          "gan_lr": 1e-3, "critic_thresh": 10.0, "workers": 1, "device": "cpu", **kw}
    return NoGANConfig(hr=hr, out=out, **kw)


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """(hr folder, chain OUT, its before/after table): `run_nogan` end to end, without LPIPS."""
    root = tmp_path_factory.mktemp("nogan_chain")
    hr = make_toy_scenes(root / "hr", n=N_SCENES, size=32)
    with pytest.MonkeyPatch.context() as mp:
        no_weights_env(mp, root)
        table = run_nogan(tiny_chain_config(hr, root / "out"))
    return hr, root / "out", table


def _strict_json(path):
    return json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in {path}"))


@pytest.fixture
def strict_json():
    """Reads a JSON file, failing on NaN/Infinity (JSON has none)."""
    return _strict_json


@pytest.fixture
def chain_config():
    """`tiny_chain_config(hr, out, **overrides)`."""
    return tiny_chain_config
