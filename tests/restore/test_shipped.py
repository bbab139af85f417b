"""The restorer inside the package: present, loadable, and better than bicubic on a real photo."""

from __future__ import annotations

import random

import pytest
from PIL import Image

from lesson7.restore.restorer import Restorer, pil_to_tensor
from lesson7.restore.shipped import shipped_model_path


def test_shipped_model_is_small_fp16_and_loads():
    path = shipped_model_path()
    assert path.stat().st_size <= 25 * 2**20  # the package's weights budget
    restorer = Restorer.load(path)
    assert restorer.cfg.upscale == 4 and restorer.cfg.arch == "efficientnet_lite0"
    assert path.with_suffix(".md").is_file()  # the model card travels with it
    out = restorer.restore(Image.new("RGB", (23, 17), (120, 80, 40)))
    assert out.size == (92, 68)


@pytest.mark.realdata
def test_shipped_model_beats_bicubic_on_a_held_out_photo():
    from conftest import shared_path

    from lesson7.data.pairs import modcrop
    from lesson7.data.sr_pairs import degrade_real
    from lesson7.quality import psnr_y

    hr = modcrop(Image.open(shared_path("datasets", "set5", "butterfly.png")).convert("RGB"), 4)
    lr = degrade_real(hr, 4, random.Random(0))
    restored = Restorer.load(shipped_model_path()).restore(lr)
    bicubic = lr.resize(hr.size, Image.Resampling.BICUBIC)
    target = pil_to_tensor(hr)[None]
    gain = (psnr_y(pil_to_tensor(restored)[None], target, 4)
            - psnr_y(pil_to_tensor(bicubic)[None], target, 4)).item()
    assert gain > 0.3, gain
