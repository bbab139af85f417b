"""Tiled prediction (blended, seamless, equal to whole-image prediction away from tile edges),
Restorer save/load with clear errors, and evaluation against the baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from lesson7.restore import (
    Restorer,
    UnetConfig,
    blend_ramp,
    build_unet,
    evaluate,
    predict_tiled,
    tile_starts,
)
from lesson7.train.checkpoint import save_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


def test_tile_starts_cover_the_image():
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(300, 128, 32)
    assert starts[0] == 0 and starts[-1] == 300 - 128
    assert all(b - a <= 128 - 32 for a, b in zip(starts, starts[1:], strict=False))
    with pytest.raises(ValueError, match="--tile"):
        tile_starts(300, 32, 32)


def test_blend_ramp_is_positive_and_one_on_image_borders():
    w = blend_ramp(64, 16, first=True, last=False)
    assert w[0] == 1 and w[-1] < 0.1 and (w > 0).all()


def test_identity_model_tiles_without_seams():
    img = torch.rand(3, 77, 130)
    out = predict_tiled(lambda x: x, img, tile=32, overlap=8)
    torch.testing.assert_close(out, img)


def test_local_model_tiled_equals_whole_away_from_tile_edges():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 3, 3, padding=1)  # 1-px receptive radius
    img = torch.rand(3, 90, 120)
    with torch.no_grad():
        whole = conv(img[None])[0]
    tiled = predict_tiled(conv, img, tile=48, overlap=16)
    # every pixel is a convex blend of tile outputs, each exact except 1 px from its edges
    err = (tiled - whole).abs()
    assert err[:, 1:-1, 1:-1].max() < 0.05
    # single-tile pixels far from any tile edge are exact
    torch.testing.assert_close(tiled[:, 2:14, 2:14], whole[:, 2:14, 2:14])


def _tiny_cfg(**kw) -> UnetConfig:
    return UnetConfig(arch="resnet18", img_size=(32, 32), **kw)


def test_unet_tiled_close_to_whole_image():
    torch.manual_seed(0)
    restorer = Restorer(build_unet(_tiny_cfg()), _tiny_cfg())
    img = torch.rand(3, 96, 96)
    whole = restorer.restore_tensor(img, tile=512)
    tiled = restorer.restore_tensor(img, tile=64, overlap=32)
    assert tiled.shape == whole.shape == (3, 96, 96)
    inner = (tiled - whole)[:, 8:-8, 8:-8].abs().mean()
    assert inner < 0.02


def test_save_load_roundtrip_and_wrong_checkpoints(tmp_path):
    torch.manual_seed(0)
    cfg = _tiny_cfg(scale=2.0)
    r = Restorer(build_unet(cfg), cfg)
    r.save(tmp_path / "run" / "model")
    loaded = Restorer.load(tmp_path / "run")
    assert loaded.cfg == cfg
    x = torch.rand(3, 40, 40)
    torch.testing.assert_close(loaded.restore_tensor(x), r.restore_tensor(x))
    out = loaded.restore(Image.new("RGB", (20, 10)))
    assert out.size == (40, 20)  # upsampled by the trained scale first
    # same metadata, other architecture's weights: one readable error
    other = build_unet(_tiny_cfg(self_attention=False, norm_type="batch"))
    save_checkpoint(tmp_path / "bad" / "model", other, task="restore", arch="resnet18",
                    img_size=[32, 32])
    with pytest.raises(ValueError, match="does not match this model"):
        Restorer.load(tmp_path / "bad")
    save_checkpoint(tmp_path / "mnist" / "model", nn.Linear(2, 2), task="mnist")
    with pytest.raises(ValueError, match="not a restore checkpoint"):
        Restorer.load(tmp_path / "mnist")
    with pytest.raises(ValueError, match="no restore checkpoint"):
        Restorer.load(tmp_path / "nowhere")


class _NoLPIPS(nn.Module):
    def forward(self, a, b):
        return (a - b).abs().mean().reshape(1)


def test_evaluate_identity_equals_baseline_and_shaves(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        p = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (50, 66, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    res = evaluate(lambda x: x, paths, "bicubic-x2", lpips=_NoLPIPS())
    assert res["n_images"] == 2 and res["shave"] == 2
    for k in ("psnr", "psnr_y", "ssim", "lpips"):
        assert res["model"][k] == pytest.approx(res["baseline"][k])
    res = evaluate(lambda x: x * 0, paths, "lesson", eval_size=32, lpips=_NoLPIPS())
    assert res["model"]["psnr"] < res["baseline"]["psnr"]
    with pytest.raises(ValueError, match="unknown --degrade"):
        evaluate(lambda x: x, paths, "sharpen", lpips=_NoLPIPS())
