"""GAN fine-tuning from run folders (`lesson7.gan.finetune`): restore-format checkpoints,
progressive resizing, resuming, NaN stops, and the before/after comparison (tiny, CPU)."""

import argparse
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.gan.chain import compare, report_markdown
from lesson7.gan.finetune import GANTrainConfig, finetune, load_critic, load_generator
from lesson7.restore.restorer import Restorer
from lesson7.tasks import restore
from lesson7.tasks.gan import CriticConfig, train_critic
from lesson7.train.callbacks import Callback
from lesson7.train.checkpoint import read_metadata

torch.set_num_threads(1)


def _images(folder, n=8, size=(48, 40), noisy=False):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        if noisy:
            a = rng.uniform(-1, 1, (size[1], size[0], 3))
        else:
            y, x = np.mgrid[0:size[1], 0:size[0]]
            a = np.stack([np.sin(x / (3 + i)), np.cos(y / (2 + i)), np.sin((x + y) / 5)], -1)
        Image.fromarray(((a + 1) * 127).astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny `restore train` run (bicubic x2, resnet18, 32 px) and a tiny critic run."""
    root = tmp_path_factory.mktemp("gan_runs")
    hr = _images(root / "hr", n=16)
    p = argparse.ArgumentParser()
    restore.add_train_arguments(p)
    args = p.parse_args([str(a) for a in (
        "--hr", hr, "--degrade", "bicubic-x2", "--arch", "resnet18", "--no-pretrained",
        "--size", "32", "--bs", "4", "--epochs", "1", "--unfreeze-epochs", "0",
        "--valid-pct", "0.25", "--workers", "1", "--out", root / "gen", "--device", "cpu",
        "--no-self-attention")])
    assert restore.train(args) == 0
    train_critic(CriticConfig(fake=str(_images(root / "fake", noisy=True)), real=str(hr), size=32,
                              bs=4, epochs=1, nf=8, n_blocks=1, device="cpu",
                              out=str(root / "critic")))
    return root / "gen", root / "critic", hr


def _config(runs, out, **kw):
    gen, critic, _ = runs
    # critic_thresh 10: switch after every batch, so both nets train within a few batches
    kw = {"sizes": [32], "epochs": [2], "bs": 4, "critic_thresh": 10.0, "device": "cpu", **kw}
    return GANTrainConfig(generator=str(gen), critic=str(critic), out=str(out), **kw)


def _strict_json(path):  # JSON has no NaN: fail if one was written
    return json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in {path}"))


class Watch(Callback):
    """Records each training batch's input size and batch size, and the epochs run."""

    order = 50

    def __init__(self):
        self.shapes, self.epochs = [], 0

    def before_batch(self, learn):
        if learn.training:
            self.shapes.append(tuple(learn.xb.shape))

    def after_epoch(self, learn):
        self.epochs += 1


class Boom(Exception):
    pass


class StopAfterEpoch(Callback):
    order = 100  # after the epoch's checkpoint (99): like a kill between epochs

    def after_epoch(self, learn):
        raise Boom


def test_gan_run_is_a_restore_run_with_a_trained_generator_and_critic(runs, tmp_path):
    gen_run, critic_run, _ = runs
    metrics = finetune(_config(runs, tmp_path / "gan"), progress=False)
    assert metrics["complete"] and len(metrics["history"]) == 2
    assert _strict_json(tmp_path / "gan" / "metrics.json")["complete"] is True
    assert all(math.isfinite(r["critic_loss"]) for r in metrics["history"])

    after = Restorer.load(tmp_path / "gan")  # what `restore predict / eval` do
    before, _, _ = load_generator(gen_run)
    changed = [not torch.equal(a, b) for a, b in
               zip(before.state_dict().values(), after.model.state_dict().values(), strict=True)]
    assert any(changed)
    meta = read_metadata(tmp_path / "gan" / "model.safetensors")
    assert meta["task"] == "restore" and meta["degrade"] == "bicubic-x2"
    assert meta["train_size"] == 32 and meta["gan_epochs"] == 2

    crit0, _ = load_critic(critic_run)
    crit1, crit_meta = load_critic(tmp_path / "gan")  # ready for another critic/GAN cycle
    assert crit_meta["nf"] == 8 and crit_meta["n_blocks"] == 1
    assert any(not torch.equal(a, b) for a, b in
               zip(crit0.state_dict().values(), crit1.state_dict().values(), strict=True))
    assert Image.open(tmp_path / "gan" / "results.png").size[0] > 0


def test_progressive_resizing_changes_size_and_batch_size(runs, tmp_path):
    watch = Watch()
    metrics = finetune(_config(runs, tmp_path / "gan", sizes=[32, 48], epochs=[1, 1],
                               lrs=[1e-4, 5e-5]), progress=False, cbs=[watch])
    assert [r["size"] for r in metrics["history"]] == [32, 48]
    sizes = {s[-1] for s in watch.shapes}
    assert sizes == {32, 48}
    assert max(s[0] for s in watch.shapes if s[-1] == 48) == 2  # 4 * (32/48)^2 -> 2
    assert read_metadata(tmp_path / "gan" / "model.safetensors")["train_size"] == 48


def test_an_interrupted_run_resumes_at_the_next_epoch(runs, tmp_path):
    cfg = _config(runs, tmp_path / "gan", epochs=[2])
    with pytest.raises(Boom):
        finetune(cfg, progress=False, cbs=[StopAfterEpoch()])
    first = _strict_json(tmp_path / "gan" / "metrics.json")
    assert not first["complete"] and len(first["history"]) == 1
    saved = Restorer.load(tmp_path / "gan").model.state_dict()

    class FirstWeights(Callback):
        def before_fit(self, learn):
            self.sd = {k: v.clone() for k, v in learn.generator.state_dict().items()}

    seen, watch = FirstWeights(), Watch()
    metrics = finetune(_config(runs, tmp_path / "gan", epochs=[2]), progress=False,
                       cbs=[seen, watch])
    assert watch.epochs == 1                               # only the missing epoch
    assert len(metrics["history"]) == 2 and metrics["history"][0] == first["history"][0]
    assert all(torch.equal(seen.sd[k], v) for k, v in saved.items())  # it went on from there

    with pytest.raises(ValueError, match="--out"):       # other settings: never mixed in
        finetune(_config(runs, tmp_path / "gan", epochs=[2], lrs=[1e-3]), progress=False)


def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(runs, tmp_path):
    class PoisonSecondEpoch(Callback):
        order = -20  # before GANTrainer's check

        def after_loss(self, learn):
            if learn.epoch == 1:
                learn.loss = learn.loss * float("nan")

    with pytest.raises(FloatingPointError, match="last good checkpoint"):
        finetune(_config(runs, tmp_path / "gan"), progress=False, cbs=[PoisonSecondEpoch()])
    meta = read_metadata(tmp_path / "gan" / "model.safetensors")
    assert meta["gan_epochs"] == 1
    model = Restorer.load(tmp_path / "gan").model
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(("kw", "flag"), [({"epochs": [1, 2]}, "--epochs"),
                                          ({"sizes": [32, 48], "lrs": [1e-4] * 3}, "--lr"),
                                          ({"sizes": [8]}, "--size"),
                                          ({"weights_gen": (1.0, -1.0)}, "--weights-gen")])
def test_config_errors_name_the_flag(runs, tmp_path, kw, flag):
    with pytest.raises(ValueError, match=flag):
        _config(runs, tmp_path, **kw)


def test_config_repeats_one_value_for_every_size(runs, tmp_path):
    cfg = _config(runs, tmp_path, sizes=[32, 64], epochs=[5], lrs=[1e-4], bs=16)
    assert cfg.stages() == [(32, 5, 1e-4, 16), (64, 5, 1e-4, 4)]


def test_load_critic_names_a_folder_without_a_critic(tmp_path):
    with pytest.raises(ValueError, match="--critic"):
        load_critic(tmp_path)


def test_compare_puts_before_and_after_side_by_side():
    def res(psnr, lpips):
        return {"model": {"psnr": psnr, "psnr_y": psnr + 1, "ssim": 0.8, "lpips": lpips},
                "baseline": {"psnr": 20.0, "psnr_y": 21.0, "ssim": 0.5, "lpips": 0.5},
                "n_images": 3, "degrade": "lesson", "eval_size": 64, "metric_notes": "n"}

    table = compare(res(25.0, 0.30), res(24.5, 0.20))
    psnr, lpips = table["metrics"]["psnr"], table["metrics"]["lpips"]
    assert psnr["change"] == pytest.approx(-0.5) and not psnr["better"]
    assert lpips["change"] == pytest.approx(-0.1) and lpips["better"]  # lower LPIPS is better
    assert psnr["input"] == 20.0
    md = report_markdown(table)
    assert "| psnr (higher is better) | 20.0000 | 25.0000 | 24.5000 | -0.5000 |" in md


def test_chain_config_takes_one_degradation(tmp_path):
    from lesson7.gan.chain import ChainConfig

    assert ChainConfig(hr=str(tmp_path)).crappify == "lesson"
    with pytest.raises(ValueError, match="not both"):
        ChainConfig(hr=str(tmp_path), crappify="lesson", degrade="bicubic-x4")
    with pytest.raises(ValueError, match="--degrade"):
        ChainConfig(hr=str(tmp_path), degrade="bicubic-x5")
    with pytest.raises(ValueError, match="--size"):
        ChainConfig(hr=str(tmp_path), size=32)  # too small for 3 critic blocks
