"""The colorize stage's colourfulness (Hasler & Süsstrunk 2003) and its no-colorizer path."""

import numpy as np
from PIL import Image

from lesson7.demo.colorize import colourfulness, find_shipped_colorizer


def test_grey_scores_zero_and_saturated_colour_scores_high():
    grey = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32), np.uint8)).convert("RGB")
    assert colourfulness(grey) == 0.0
    half = np.zeros((32, 32, 3), np.uint8)
    half[:, :16] = (255, 0, 0)
    half[:, 16:] = (0, 0, 255)
    # rg: 255 / 0 (std 127.5, mean 127.5); yb: 127.5 / -255 (std 191.25, mean -63.75)
    want = np.hypot(127.5, 191.25) + 0.3 * np.hypot(127.5, -63.75)
    assert abs(colourfulness(Image.fromarray(half)) - want) < 1e-9


def test_without_a_shipped_colorizer_the_reason_is_given():
    path, why = find_shipped_colorizer()
    assert (path is None) == (why is not None)
    if path is None:
        assert why.startswith("no shipped colorizer installed")


def _ctx(tmp_path):
    from lesson7.demo.context import StageContext
    from lesson7.demo.progress import StageProgress

    (tmp_path / "colorize").mkdir()
    return StageContext(root=tmp_path, dir=tmp_path / "colorize", device="cpu", seed=0, quick=True,
                        progress=StageProgress("colorize", 1, 1, 1))


def test_stage_without_colorizer_shows_grey_inputs(tmp_path, monkeypatch):
    from lesson7.demo.colorize import stage_colorize
    from lesson7.demo.stage_report import check_report

    monkeypatch.setenv("LESSON7_SHIPPED_COLORIZER", str(tmp_path / "none.safetensors"))
    report = stage_colorize(_ctx(tmp_path)).to_json()
    check_report(report, tmp_path / "colorize")
    assert [u["reason"].split(" (")[0] for u in report["unavailable"]] == ["no shipped colorizer installed"]
    assert [g["kind"] for g in report["galleries"]] == ["grid", "grid"]  # grey inputs, originals


def test_stage_with_a_colorizer_shows_before_after_pairs(tmp_path, monkeypatch, tiny_colorizer_run):
    from lesson7.demo.colorize import stage_colorize
    from lesson7.demo.stage_report import check_report

    monkeypatch.setenv("LESSON7_SHIPPED_COLORIZER", str(tiny_colorizer_run / "model.safetensors"))
    report = stage_colorize(_ctx(tmp_path)).to_json()
    check_report(report, tmp_path / "colorize")
    assert report["unavailable"] == []
    pairs = [g for g in report["galleries"] if g["kind"] == "compare"][0]["items"]
    assert len(pairs) == 4
    names = {f["name"] for f in report["figures"]}
    assert {"PSNR vs the true colours, colorizer", "colourfulness, colorizer"} <= names
