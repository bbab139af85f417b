"""Scoring a colorizer: the grey baseline's scores are the grey image's, plug-in metrics are
reported for both sides, and `lesson7 colorize eval` writes metrics.json."""

from __future__ import annotations

import json

import pytest
from conftest import colour_photo

from lesson7.cli import main
from lesson7.colorize.colorizer import Colorizer
from lesson7.colorize.evaluate import evaluate_colorizer, held_out_photo
from lesson7.data.images import pil_to_tensor
from lesson7.quality import psnr

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def held_out(tmp_path):
    d = tmp_path / "held_out"
    d.mkdir()
    colour_photo(64, 48, seed=1).save(d / "a.png")
    colour_photo(700, 500, seed=2).save(d / "big.png")
    return d


def test_scores_and_plugin_metrics(tiny_colorizer_run, held_out):
    c = Colorizer.load(tiny_colorizer_run)
    files = sorted(held_out.glob("*.png"))
    calls = []
    res = evaluate_colorizer(
        c, files, held_out, render_size=32, max_side=256,
        image_metrics={"mean_red": lambda pred, photo: pred[0].mean().item()},
        set_metrics={"count": lambda preds, photos: calls.append(len(preds)) or len(preds)})
    assert res["n_images"] == 2 and res["max_side"] == 256 and res["render_size"] == 32
    assert res["model"]["lpips"] is None and res["model"]["count"] == 2 and calls == [2, 2]
    photo = held_out_photo(files[0], 256)
    grey = pil_to_tensor(photo.convert("L").convert("RGB"))
    row = next(r for r in res["per_image"] if r["image"] == "a.png")
    assert row["baseline"]["psnr"] == pytest.approx(psnr(grey[None], pil_to_tensor(photo)[None]).item())
    assert set(row["model"]) == {"psnr", "ssim", "lpips", "mean_red"}
    assert held_out_photo(files[1], 256).size == (256, 183)


def test_cli_eval_writes_metrics(tiny_colorizer_run, held_out, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["colorize", "eval", str(tiny_colorizer_run), "--hr", str(held_out),
                 "--no-lpips", "--render-size", "32", "--out", str(out), "--device", "cpu"]) == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["sets"]["held_out"]["n_images"] == 2
    assert '"held_out"' in capsys.readouterr().out
