"""The restorers inside the package: present, small, loadable, and better than their baseline
(bicubic for x4, the degraded photo itself for x1) on a real held-out photo."""

from __future__ import annotations

import random
from importlib.resources import files
from pathlib import Path

import pytest
from PIL import Image

from lesson7.restore.restorer import Restorer, pil_to_tensor
from lesson7.restore.shipped import SHIPPED_MODEL_ENV, shipped_model_path


def test_all_shipped_weights_fit_the_budget():
    assets = Path(str(files("lesson7") / "assets"))
    weights = sorted(assets.glob("*.safetensors"))
    assert {p.name for p in weights} >= {"restorer_x4.safetensors", "restorer_x1.safetensors",
                                         "colorizer.safetensors"}
    assert sum(p.stat().st_size for p in weights) <= 25e6  # the package's weights budget, 25 MB


def test_shipped_x4_model_is_fp16_and_loads():
    path = shipped_model_path()
    assert path.name == "restorer_x4.safetensors" and shipped_model_path(4) == path
    assert shipped_model_path(2) == path  # x2: the x4 model's output, resized
    restorer = Restorer.load(path)
    assert restorer.cfg.upscale == 4 and restorer.cfg.arch == "efficientnet_lite0"
    assert path.with_suffix(".md").is_file()  # the model card travels with it
    out = restorer.restore(Image.new("RGB", (23, 17), (120, 80, 40)))
    assert out.size == (92, 68)


def test_shipped_x1_model_keeps_the_size_and_is_picked_for_scale_1(monkeypatch):
    monkeypatch.delenv(SHIPPED_MODEL_ENV, raising=False)
    path = shipped_model_path(1)
    assert path.name == "restorer_x1.safetensors" and shipped_model_path(0.5) == path
    restorer = Restorer.load(path)
    cfg = restorer.cfg
    assert (cfg.upscale, cfg.unshuffle, cfg.arch) == (1, 2, "efficientnet_lite0")
    assert restorer.default_scale == 1.0
    assert path.with_suffix(".md").is_file()
    out = restorer.restore(Image.new("RGB", (23, 17), (120, 80, 40)))
    assert out.size == (23, 17)


def _psnr_gain(restored: Image.Image, baseline: Image.Image, hr: Image.Image, shave: int) -> float:
    from lesson7.quality import psnr_y

    target = pil_to_tensor(hr)[None]
    return (psnr_y(pil_to_tensor(restored)[None], target, shave)
            - psnr_y(pil_to_tensor(baseline)[None], target, shave)).item()


@pytest.mark.realdata
def test_shipped_x4_model_beats_bicubic_on_a_held_out_photo():
    """The x4 model is trained with the lesson's feature loss: judged by LPIPS. Its L1-trained
    start model gains 0.18 here (0.718 -> 0.543); the feature-loss fine-tune 0.31 (-> 0.408)."""
    from conftest import shared_path

    from lesson7.data.pairs import modcrop
    from lesson7.data.sr_pairs import degrade_real
    from lesson7.quality import LPIPS

    hr = modcrop(Image.open(shared_path("datasets", "set5", "butterfly.png")).convert("RGB"), 4)
    lr = degrade_real(hr, 4, random.Random(0))
    restored = Restorer.load(shipped_model_path()).restore(lr)
    lpips, target = LPIPS("alex"), pil_to_tensor(hr)[None]
    bicubic = lpips(pil_to_tensor(lr.resize(hr.size, Image.Resampling.BICUBIC))[None], target)
    gain = (bicubic - lpips(pil_to_tensor(restored)[None], target)).item()
    assert gain > 0.25, gain
    assert _psnr_gain(restored, lr.resize(hr.size, Image.Resampling.BICUBIC), hr, 4) > -0.5


@pytest.mark.realdata
def test_shipped_x1_model_beats_the_degraded_photo_on_a_held_out_photo(monkeypatch):
    from conftest import shared_path

    from lesson7.data.sr_pairs import degrade_real

    monkeypatch.delenv(SHIPPED_MODEL_ENV, raising=False)
    hr = Image.open(shared_path("datasets", "set5", "butterfly.png")).convert("RGB")
    degraded = degrade_real(hr, 1, random.Random(0))
    restored = Restorer.load(shipped_model_path(1)).restore(degraded)
    assert restored.size == hr.size
    gain = _psnr_gain(restored, degraded, hr, 4)
    assert gain > 0.3, gain
