"""`lesson7.mnist.train`: the lesson's data block on an mnist_png tree, and one training run
through `train_mnist` with its one-cycle schedule recorded by a callback (no patching)."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import torch
from conftest import make_mnist_png

from lesson7.configs.mnist import MnistConfig
from lesson7.mnist.train import find_mnist_root, load_mnist, train_mnist
from lesson7.train import Callback


@pytest.fixture
def tree(tmp_path):
    return make_mnist_png(tmp_path / "data")


def test_find_mnist_root_accepts_the_folder_or_its_parent(tree):
    inner = tree / "mnist_png"
    assert find_mnist_root(tree) == inner == find_mnist_root(inner)
    with pytest.raises(ValueError, match="training/ and testing/"):
        find_mnist_root(inner / "training")


def test_load_mnist_is_the_lessons_data_block(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    data = load_mnist(MnistConfig(data=str(tree), bs=8, device="cpu"))
    assert data.classes == ["0", "1"]
    assert len(data.train_ds) == 24 and len(data.valid_ds) == 12  # split by folder
    xb, yb = data.one_batch("train")
    assert xb.shape == (8, 1, 28, 28) and yb.dtype == torch.long  # greyscale, rand_pad -> 28
    mean, std = data.stats
    assert mean.shape == (1,) and abs(xb.mean().item()) < 0.5  # normalised from one batch


def test_load_mnist_reads_an_archive(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    tgz = tmp_path / "mnist_png.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(tree / "mnist_png", arcname="mnist_png")
    data = load_mnist(MnistConfig(data=str(tgz), bs=8, device="cpu"))
    assert len(data.train_ds) == 24 and len(data.valid_ds) == 12


class RecordHypers(Callback):
    """The learning rate and momentum (Adam beta1) at every training batch."""

    order = 11  # after the ParamScheduler (10) wrote them

    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.moms: list[float] = []

    def before_batch(self, learn) -> None:
        if learn.training:
            self.lrs.append(learn.opt.param_groups[-1]["lr"])
            self.moms.append(learn.opt.param_groups[-1]["betas"][0])


def test_train_mnist_follows_the_lessons_one_cycle(tree, tmp_path, monkeypatch):
    """resnet: max lr 0.05 (the lesson's); one-cycle starts at lr/25 with momentum 0.95, dips
    momentum while the lr rises, and ends near zero."""
    monkeypatch.setenv("LESSON7_DATA", str(tmp_path / "cache"))
    record = RecordHypers()
    cfg = MnistConfig(model="resnet", epochs=2, bs=4, data=str(tree), out=tmp_path / "run",
                      device="cpu")
    m = train_mnist(cfg, printer=lambda *a: None, cbs=[record])
    assert cfg.lr == 0.05 and len(record.lrs) == 2 * 6  # 24 images / bs 4, two epochs
    assert record.lrs[0] == pytest.approx(0.05 / 25) and record.moms[0] == pytest.approx(0.95)
    peak = int(np.argmax(record.lrs))
    assert 0 < peak < len(record.lrs) - 1 and record.lrs[peak] <= 0.05
    assert record.moms[peak] == min(record.moms)
    assert record.lrs[-1] < 1e-6
    assert m["params"] == 41_132 and len(m["history"]) == 2
    assert (tmp_path / "run" / "model.safetensors").is_file()

