"""Critic pretraining (NoGAN step 3): `critic_learner` learns an easy generated-vs-real split, and
`pretrain_critic(CriticConfig)` writes a run folder that resumes after an interruption."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.configs.nogan import CriticConfig
from lesson7.nogan.critic import critic_learner, pretrain_critic
from lesson7.nogan.critic_data import FolderPairs
from lesson7.nogan.finetune import load_critic
from lesson7.train.callbacks import Callback, CancelFit


def _write_images(root, n, kind, size=16, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    for i in range(n):
        if kind == "smooth":   # "real": smooth gradients
            base = np.linspace(0, 255, size)[None, :, None] * rng.uniform(0.3, 1.0)
            arr = np.broadcast_to(base, (size, size, 3))
        else:                  # "generated": noisy
            arr = rng.uniform(0, 255, (size, size, 3))
        Image.fromarray(arr.astype(np.uint8)).save(root / f"img{i:03d}.png")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("critic_data")
    _write_images(root / "image_gen", 24, "noise", seed=1)
    _write_images(root / "images", 24, "smooth", seed=2)
    return root / "image_gen", root / "images"


def _config(folders, out, **kw):
    fake, real = folders
    kw = {"size": 16, "bs": 8, "epochs": 3, "lr": 3e-3, "nf": 8, "n_blocks": 1, "device": "cpu",
          **kw}
    return CriticConfig(fake=fake, real=real, out=out, **kw)


class Boom(Exception):
    pass


class StopAfterFirstEpoch(Callback):
    """Order 100: after the epoch's resume point (99) is written, like a kill between epochs."""

    order = 100

    def __init__(self, exc=Boom):
        self.exc = exc

    def after_epoch(self, learn):
        raise self.exc


class CountEpochs(Callback):
    def __init__(self):
        self.epochs = []

    def before_epoch(self, learn):
        self.epochs.append(learn.epoch)


def test_critic_learner_separates_an_easy_real_fake_split(folders, tmp_path):
    torch.manual_seed(0)
    data = FolderPairs(*folders, size=16, bs=8, valid_pct=0.25, norm=lambda t: t * 2 - 1)
    learn = critic_learner(data, nf=8, n_blocks=1, path=tmp_path, device="cpu", progress=False)
    learn.fit_one_cycle(4, 3e-3)
    assert learn.recorder.history[-1]["accuracy_thresh_expand"] >= 0.9


def test_pretrain_critic_writes_a_critic_run(folders, tmp_path):
    metrics = pretrain_critic(_config(folders, tmp_path / "critic", epochs=4), progress=False)
    assert metrics["complete"] and len(metrics["accuracy_per_epoch"]) == 4
    history = metrics["history"]
    assert metrics["accuracy_per_epoch"] == [r["accuracy_thresh_expand"] for r in history]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert json.loads((tmp_path / "critic" / "metrics.json").read_text()) == metrics
    critic, meta = load_critic(tmp_path / "critic")        # what `gan train --critic` loads
    assert (meta["task"], meta["nf"], meta["n_blocks"], meta["size"]) == ("gan-critic", 8, 1, 16)
    assert critic(torch.zeros(2, 3, 16, 16)).shape[0] == 2
    assert not (tmp_path / "critic" / "state").exists()


@pytest.mark.parametrize("stop", [Boom, CancelFit], ids=["crash", "cancel"])
def test_an_interrupted_critic_resumes_from_a_relative_out(folders, tmp_path, monkeypatch, stop):
    monkeypatch.chdir(tmp_path)
    cfg = _config(folders, "runs/critic")                    # relative --out
    if stop is Boom:
        with pytest.raises(Boom):
            pretrain_critic(cfg, progress=False, cbs=[StopAfterFirstEpoch(Boom)])
    else:  # a clean stop: no critic yet, so the NoGAN chain cannot mistake it for a finished one
        assert pretrain_critic(cfg, progress=False, cbs=[StopAfterFirstEpoch(CancelFit)]
                               )["complete"] is False
    run = tmp_path / "runs" / "critic"
    assert (run / "state" / "last.safetensors").is_file()
    assert not (run / "critic.safetensors").exists()
    first = json.loads((run / "state" / "last.json").read_text())["history"]

    counter = CountEpochs()
    metrics = pretrain_critic(_config(folders, "runs/critic"), progress=False, cbs=[counter])
    assert counter.epochs == [1, 2]                          # only the missing epochs
    assert metrics["complete"] and len(metrics["history"]) == 3
    assert metrics["history"][0] == first[0]
    assert (run / "critic.safetensors").is_file()
    assert not (run / "state").exists()                      # finished: no resume point left
    assert not (tmp_path / "runs" / "critic" / "runs").exists()  # never joined onto itself


def test_other_settings_in_an_unfinished_critic_run_are_refused(folders, tmp_path):
    with pytest.raises(Boom):
        pretrain_critic(_config(folders, tmp_path / "critic"), progress=False,
                        cbs=[StopAfterFirstEpoch()])
    with pytest.raises(ValueError, match=r"other settings \(--lr, --nf\)"):
        pretrain_critic(_config(folders, tmp_path / "critic", lr=1e-3, nf=16), progress=False)
    assert (tmp_path / "critic" / "state").is_dir()          # the unfinished run is kept


def test_a_finished_critic_run_is_trained_again_from_scratch(folders, tmp_path):
    pretrain_critic(_config(folders, tmp_path / "critic", epochs=1), progress=False)
    counter = CountEpochs()
    pretrain_critic(_config(folders, tmp_path / "critic", epochs=2), progress=False,
                    cbs=[counter])
    assert counter.epochs == [0, 1]


def test_an_encoder_critic_run_saves_its_arch_and_loads_back(folders, tmp_path):
    """`gan critic --arch encoder` -> a checkpoint `gan train` rebuilds as the encoder critic."""
    from lesson7.models.critic import EncoderCritic

    # 32 px: the encoder critic's smallest input (one /32 patch)
    fake, real = folders
    big = tmp_path / "big"
    for src in (fake, real):
        (big / src.name).mkdir(parents=True)
        for f in sorted(src.glob("*.png"))[:8]:
            Image.open(f).resize((32, 32)).save(big / src.name / f.name)
    cfg = CriticConfig(arch="encoder", fake=big / fake.name, real=big / real.name, size=32, bs=8,
                       epochs=1, lr=1e-3, device="cpu", out=tmp_path / "critic")
    metrics = pretrain_critic(cfg, progress=False)
    assert metrics["complete"]
    critic, meta = load_critic(tmp_path / "critic")
    assert meta["arch"] == "encoder" and isinstance(critic, EncoderCritic)
    assert critic(torch.zeros(2, 3, 32, 32)).shape == (2, 1)


def test_the_encoder_critic_refuses_images_below_32px(folders, tmp_path):
    with pytest.raises(ValueError, match="--size 16 is too small for the encoder critic"):
        _config(folders, tmp_path / "c", arch="encoder")
