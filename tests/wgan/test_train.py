"""`train_wgan(WGANConfig)`: a run folder with samples per epoch, the generator, and a
classifier-FID on labelled (IDX) data; tiny, CPU."""

import gzip
import json
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.configs.wgan import WGANConfig
from lesson7.gan.trainer import GANModule
from lesson7.models.wgan import basic_critic, basic_generator
from lesson7.train.callbacks import Callback
from lesson7.train.checkpoint import load_checkpoint, read_metadata
from lesson7.wgan.train import train_wgan

pytestmark = pytest.mark.usefixtures("one_thread")


def _write_idx(folder, n=96, seed=0):  # class c: a bright bar at rows 2c..2c+4
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, c in enumerate(labels):
        images[i, 2 * c:2 * c + 5, 4:24] = 255
    folder.mkdir()
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">iiii", 0x803, n, 28, 28) + images.tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">ii", 0x801, n) + labels.tobytes())
    return folder


@pytest.fixture(scope="module")
def rgb_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("wgan_imgs")
    rng = np.random.default_rng(0)
    (root / "a").mkdir()
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(
            root / "a" / f"{i}.jpg")
    return root


def _config(data, out, **kw):
    kw = {"size": 16, "channels": 3, "bs": 8, "epochs": 2, "n_features": 8, "device": "cpu", **kw}
    return WGANConfig(data=str(data), out=out, **kw)


def test_a_clipped_wgan_run_on_an_image_folder(rgb_folder, tmp_path):
    out = tmp_path / "run"
    m = train_wgan(_config(rgb_folder, out, bs=4, n_crit=2))
    assert m["variant"] == "wgan-clip" and m["n_images"] == 20
    assert [h["epoch"] for h in m["history"]] == [0, 1]
    # 2 epochs x 5 batches, n_crit=2 critic batches per generator batch: ccgcc | gccgc
    assert (m["critic_steps"], m["generator_steps"]) == (7, 3)
    assert m["fid"] is None and "--fid-classifier" in m["fid_note"]  # no classifier for RGB
    grid = 8 * 16 + 9 * 2                                     # 8x8 samples, 2 px padding
    for epoch in (1, 2):
        assert Image.open(out / f"samples_epoch{epoch}.png").size == (grid, grid)
    meta = read_metadata(out / "generator.safetensors")       # enough to rebuild it
    gen = basic_generator(meta["size"], meta["channels"], meta["noise_sz"], meta["n_features"],
                          meta["n_extra_layers"])
    load_checkpoint(out / "generator.safetensors", gen)
    assert gen(torch.randn(2, 100, 1, 1)).shape == (2, 3, 16, 16)
    saved = json.loads((out / "metrics.json").read_text(), parse_constant=pytest.fail)
    assert [h["critic_batches"] for h in saved["history"]] == [4, 3]
    assert json.loads((out / "config.json").read_text())["config"] == "WGANConfig"


def test_gp_on_idx_data_trains_and_caches_a_fid_classifier(tmp_path):
    data = _write_idx(tmp_path / "idx")
    cfg = _config(data, tmp_path / "run", size=32, channels=1, bs=16, epochs=1, gp=True,
                  fid_samples=40)
    m = train_wgan(cfg)
    assert m["variant"] == "wgan-gp" and m["n_samples"] == 40
    assert m["fid"] > 0 and m["fid_real_vs_real"] >= 0 and m["fid_untrained_generator"] > 0
    cached = tmp_path / "run" / "fid_classifier.safetensors"
    stamp = cached.stat().st_mtime_ns
    again = train_wgan(cfg)                                   # same data: the classifier is reused
    assert cached.stat().st_mtime_ns == stamp
    assert again["fid_real_vs_real"] == pytest.approx(m["fid_real_vs_real"])


def test_max_minutes_stops_training_early(rgb_folder, tmp_path):
    m = train_wgan(_config(rgb_folder, tmp_path / "run", epochs=50, max_minutes=1e-9))
    assert m["generator_steps"] + m["critic_steps"] <= 1      # stopped after the first batch
    assert (tmp_path / "run" / "generator.safetensors").is_file()


def test_a_batch_larger_than_the_data_is_named(rgb_folder, tmp_path):
    with pytest.raises(ValueError, match="--bs 64"):
        train_wgan(_config(rgb_folder, tmp_path / "run", bs=64))


class Boom(Exception):
    pass


class StopAfterFirstEpoch(Callback):
    order = 100  # after the epoch's resume point (99): like a kill between epochs

    def after_epoch(self, learn):
        raise Boom


class CountEpochs(Callback):
    def __init__(self):
        self.epochs = []

    def before_epoch(self, learn):
        self.epochs.append(learn.epoch)


def test_an_interrupted_run_resumes_from_a_relative_out(rgb_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _config(rgb_folder, "runs/wgan", bs=4, n_crit=2, epochs=3)  # relative --out
    with pytest.raises(Boom):
        train_wgan(cfg, cbs=[StopAfterFirstEpoch()])
    state = tmp_path / "runs" / "wgan" / "state"
    assert (state / "progress.json").is_file() and (state / "nets.safetensors").is_file()
    nets = GANModule(basic_generator(16, 3, 100, 8, 0), basic_critic(16, 3, 8, 0))
    load_checkpoint(state / "nets", nets)
    first = json.loads((state / "progress.json").read_text())

    class FirstWeights(Callback):
        def before_fit(self, learn):
            self.sd = {k: v.clone() for k, v in learn.model.state_dict().items()}

    counter, seen = CountEpochs(), FirstWeights()
    m = train_wgan(_config(rgb_folder, "runs/wgan", bs=4, n_crit=2, epochs=3),
                   cbs=[counter, seen])
    assert counter.epochs == [1, 2]                           # only the missing epochs
    assert all(torch.equal(seen.sd[k], v) for k, v in nets.state_dict().items())
    assert [h["epoch"] for h in m["history"]] == [0, 1, 2]
    assert m["history"][0]["critic_loss"] == pytest.approx(first["history"][0]["critic_loss"])
    # 15 batches in all, counted across both calls; the resumed fit starts with the critic,
    # as every fit does: ccgcc | ccgcc gccgc
    assert (m["critic_steps"], m["generator_steps"]) == (11, 4)
    assert m["fid_untrained_generator"] == first["fid_untrained_generator"]
    assert not state.exists()                                 # finished: no resume point left
    assert (tmp_path / "runs" / "wgan" / "samples_epoch3.png").is_file()


def test_other_settings_in_an_unfinished_run_are_refused(rgb_folder, tmp_path):
    with pytest.raises(Boom):
        train_wgan(_config(rgb_folder, tmp_path / "run"), cbs=[StopAfterFirstEpoch()])
    with pytest.raises(ValueError, match=r"other settings \(--gp, --lr\)"):
        train_wgan(_config(rgb_folder, tmp_path / "run", gp=True, lr=1e-3))
    assert (tmp_path / "run" / "state" / "progress.json").is_file()


def test_ema_saves_the_average_and_resumes_it(rgb_folder, tmp_path):
    """--ema: generator.safetensors is the weight average (not the raw generator), and an
    interrupted run resumes the average it had saved in its state, not a fresh one."""
    from lesson7.gan.ema import GeneratorEMA

    with pytest.raises(Boom):
        train_wgan(_config(rgb_folder, tmp_path / "cut", bs=4, n_crit=1, epochs=3, ema=0.9),
                   cbs=[StopAfterFirstEpoch()])
    saved = tmp_path / "cut" / "state" / "ema.safetensors"
    assert saved.is_file()
    from safetensors.torch import load_file

    after_epoch1 = {k.removeprefix("model."): v for k, v in load_file(saved).items()
                    if k.startswith("model.")}

    class AverageAtStart(Callback):
        def before_fit(self, learn):
            ema = next(cb for cb in learn.cbs if isinstance(cb, GeneratorEMA))
            self.sd = {k: v.clone() for k, v in ema.average.state_dict().items()}

    start = AverageAtStart()
    m = train_wgan(_config(rgb_folder, tmp_path / "cut", bs=4, n_crit=1, epochs=3, ema=0.9),
                   cbs=[start])
    assert m["ema"] == 0.9
    assert start.sd.keys() == after_epoch1.keys()
    assert all(torch.equal(start.sd[k], v) for k, v in after_epoch1.items())
    assert int(start.sd["n_averaged"]) > 0                      # not a fresh average

    class RawGenerator(Callback):
        order = 200

        def after_fit(self, learn):
            self.sd = {k: v.clone() for k, v in learn.generator.state_dict().items()}

    raw = RawGenerator()
    train_wgan(_config(rgb_folder, tmp_path / "whole", bs=4, n_crit=1, epochs=2, ema=0.5),
               cbs=[raw])
    shipped = basic_generator(16, 3, 100, 8, 0)
    load_checkpoint(tmp_path / "whole" / "generator.safetensors", shipped)
    weight = next(k for k in raw.sd if k.endswith("weight"))
    assert not torch.equal(shipped.state_dict()[weight], raw.sd[weight])  # the average, saved


def test_an_ema_decay_of_one_is_refused(rgb_folder, tmp_path):
    with pytest.raises(ValueError, match=r"--ema"):
        _config(rgb_folder, tmp_path / "run", ema=1.0)
