"""The colorizer keeps the photo's luminance exactly, colours at a render size and streams the
full-size result in bands equal to a whole-image upsampling; its saved config must match its
weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_COLORIZER, colour_photo, grey_photo

from lesson7.colorize.colorizer import Colorizer, ColorizerConfig, build_colorizer, render_dims
from lesson7.models.colorizer import chroma_to_rgb, luma, rgb_to_chroma

pytestmark = pytest.mark.usefixtures("one_thread")


def test_chroma_round_trip_and_gamut_keep_luma():
    rgb = torch.rand(2, 3, 8, 9)
    back = chroma_to_rgb(luma(rgb), rgb_to_chroma(rgb))
    torch.testing.assert_close(back, rgb, atol=1e-5, rtol=0)
    # Chroma far outside the RGB cube: shrunk toward grey, luma untouched, RGB inside [0, 1].
    y = torch.rand(1, 1, 16, 16)
    wild = (torch.rand(1, 2, 16, 16) - 0.5) * 4
    out = chroma_to_rgb(y, wild)
    assert out.min() >= 0 and out.max() <= 1
    torch.testing.assert_close(luma(out), y, atol=1e-5, rtol=0)
    # Hue is kept: the shrunk chroma points the same way as asked.
    got = rgb_to_chroma(out)
    cos = (got * wild).sum(1) / (got.norm(dim=1) * wild.norm(dim=1) + 1e-9)
    assert (cos[got.norm(dim=1) > 1e-3] > 0.999).all()


def test_model_output_has_the_inputs_luma(tiny_colorizer_run):
    model = Colorizer.load(tiny_colorizer_run).model
    grey = torch.rand(2, 1, 32, 48).expand(2, 3, 32, 48)
    x = (grey - model.mean) / model.std
    with torch.no_grad():
        rgb = model(x) * model.std + model.mean
    torch.testing.assert_close(luma(rgb), grey[:, :1], atol=1e-5, rtol=0)
    assert rgb_to_chroma(rgb).abs().max() > 1e-3  # it does colour


@pytest.mark.parametrize("size", [(97, 61), (640, 480)])
def test_colorize_keeps_luminance_and_size(tiny_colorizer_run, size):
    c = Colorizer.load(tiny_colorizer_run)
    photo = grey_photo(*size)
    out = c.colorize(photo, render_size=32)
    assert out.mode == "RGB" and out.size == photo.size
    o = np.asarray(out, dtype=np.float64)
    y = 0.299 * o[..., 0] + 0.587 * o[..., 1] + 0.114 * o[..., 2]
    assert np.abs(y - np.asarray(photo, dtype=np.float64)).max() <= 0.5 + 1e-9  # 8-bit rounding
    assert np.array_equal(np.asarray(out.convert("L")), np.asarray(photo))
    assert o.std(axis=-1).mean() > 0.1  # not grey


def test_colour_input_is_made_grey_first(tiny_colorizer_run):
    c = Colorizer.load(tiny_colorizer_run)
    photo = colour_photo(64, 48)
    out = c.colorize(photo, 32)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(c.colorize(photo.convert("L"), 32)))


def test_streamed_bands_equal_one_whole_upsampling(tiny_colorizer_run):
    c = Colorizer.load(tiny_colorizer_run)
    photo = grey_photo(90, 203, seed=2)
    blocks = list(c.colorize_rows(photo, 32, band=37))
    assert [len(b) for b in blocks] == [37] * 5 + [18]
    chroma = c.chroma(photo, 32)
    assert tuple(chroma.shape[1:]) == (render_dims(photo.size, 32)[1], render_dims(photo.size, 32)[0])
    full = F.interpolate(chroma[None], size=(203, 90), mode="bilinear", align_corners=False)
    y = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255)[None, None]
    ref = (chroma_to_rgb(y, full)[0] * 255).round().byte().permute(1, 2, 0).numpy()
    got = np.concatenate(blocks)
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1  # float order of operations


def test_render_dims():
    assert render_dims((4000, 3000), 256) == (336, 256)
    assert render_dims((100, 60), 256) == (96, 64)  # never enlarged, multiples of 16
    assert render_dims((5, 3), 256) == (16, 16)
    with pytest.raises(ValueError, match="--render-size"):
        render_dims((100, 100), 8)


def test_render_size_sets_the_model_input(tiny_colorizer_run, monkeypatch):
    c = Colorizer.load(tiny_colorizer_run)
    seen = []
    orig = c.model.chroma
    monkeypatch.setattr(c.model, "chroma", lambda x: seen.append(tuple(x.shape)) or orig(x))
    c.colorize(grey_photo(400, 300), 64)
    c.colorize(grey_photo(400, 300))  # the config's default (32 in the tiny model)
    assert seen == [(1, 3, 64, 80), (1, 3, 32, 48)]


def test_fp16_file_loads_and_config_round_trips(tiny_colorizer_run, tmp_path):
    c = Colorizer.load(tiny_colorizer_run)
    Colorizer(build_colorizer(c.cfg).half(), c.cfg).save(tmp_path / "half", dtype="float16")
    c2 = Colorizer.load(tmp_path / "half.safetensors")
    assert c2.cfg == c.cfg and c2.cfg == ColorizerConfig(**TINY_COLORIZER)
    assert next(c2.model.parameters()).dtype == torch.float32
    assert c2.colorize(grey_photo(), 32).size == (48, 40)


def test_a_config_that_does_not_match_the_weights_is_refused_by_name(tiny_colorizer_run, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_colorizer_run, bad)
    meta = json.loads((bad / "model.json").read_text())
    meta["encoder_depth"] = 6
    (bad / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"do not fit the colorizer its model.json describes "
                                         r"\(arch=efficientnet_lite0, encoder_depth=6.*missing"):
        Colorizer.load(bad)
    meta["task"] = "restore"
    (bad / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="is not a colorizer"):
        Colorizer.load(bad)
    (bad / "model.json").unlink()
    with pytest.raises(ValueError, match="model.json is missing"):
        Colorizer.load(bad)
    with pytest.raises(ValueError, match="no colorizer at"):
        Colorizer.load(tmp_path / "nowhere")
    pickled = tmp_path / "colorizer.pth"  # a pickle is refused as such, never unpickled
    torch.save({"weight": torch.zeros(1)}, pickled)
    with pytest.raises(ValueError, match=r"colorizer\.pth is a pickle .*never unpickles"):
        Colorizer.load(pickled)


def test_shipped_budget_model_is_small():
    """The default colorizer (Lite0 cut at 1/16) stays near 1.5 M parameters (3 MB fp16)."""
    n = sum(p.numel() for p in build_colorizer(ColorizerConfig()).parameters())
    assert 1.0e6 < n < 3.0e6
