"""`lesson7 demo --quick` end to end on the CPU, offline: no weights dir, no shared data, no
torchvision cache. Every stage runs (none skipped), writes a valid report.json, and shows
its images; what cannot be computed here is listed as unavailable with a reason."""

import json
import os

import pytest

from lesson7.cli import main
from lesson7.configs.demo import STAGE_NAMES
from lesson7.demo.run import _check_out
from lesson7.demo.stage_report import check_report


def test_a_non_demo_folder_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(ValueError, match="not a demo folder"):
        _check_out(tmp_path)
    _check_out(tmp_path / "new")  # a new folder is fine


@pytest.mark.slow  # about 2 minutes on 2 idle cores
def test_quick_demo_runs_every_stage_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LESSON7_WEIGHTS", raising=False)
    monkeypatch.delenv("LESSON7_SHIPPED_MODEL", raising=False)
    monkeypatch.delenv("LESSON7_SHIPPED_COLORIZER", raising=False)
    for var, sub in (("LESSON7_DATA", "cache"), ("XDG_DATA_HOME", "xdg_data"),
                     ("XDG_CACHE_HOME", "xdg_cache"), ("TORCH_HOME", "torch")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo"
    monkeypatch.delenv("LESSON7_OFFLINE", raising=False)
    assert main(["demo", "--quick", "--device", "cpu", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "Downloading" not in captured.err  # offline: torchvision is never asked to fetch AlexNet
    assert "LESSON7_OFFLINE" not in os.environ  # set only while the demo runs
    for i, name in enumerate(STAGE_NAMES, 1):  # the progress display: a header and numbered steps
        assert f"=== [{i}/6] {name}: " in printed and f"[{i}/6 {name} 1/" in printed
    assert "report: " in printed and (out / "report.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == list(STAGE_NAMES)
    reports = {}
    for name in STAGE_NAMES:
        assert summary[name]["status"] == "done", summary[name]
        report = json.loads((out / name / "report.json").read_text())
        check_report(report, out / name)  # shape, and every image it names exists
        assert report["figures"] and report["wall_time_s"] > 0
        assert report["galleries"] or report["texts"]  # images, or (numbers) sample predictions
        reports[name] = report
    # the tiny models train on one thread, and their device line says so
    assert {n for n, r in reports.items() if "trained on 1 thread" in r["device"]} == {
        "mnist", "numbers", "wgan"}
    unavailable = {n: {u["name"]: u["reason"] for u in r["unavailable"]} for n, r in reports.items()}
    # no AlexNet here: LPIPS is reported unavailable, and the stages still show their images
    assert "no ImageNet AlexNet weights" in unavailable["restore"]["LPIPS"]
    assert any("AlexNet" in why for why in unavailable["gan"].values())
    restore = {f["name"]: f["ours"] for f in reports["restore"]["figures"]}
    assert {"PSNR-Y, shipped restorer", "PSNR-Y, bicubic"} <= set(restore)
    # The shipped x4 model is trained with the lesson's feature loss: it puts back fine detail
    # that bicubic lacks (PSNR may go either way; LPIPS, which needs AlexNet, is checked in
    # tests/restore/test_shipped.py). Detail: mean |Laplacian| of Y, a classic focus measure.
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        detail = {tag: laplacian_energy(out / "restore" / "photos" / f"{name}_{tag}.png")
                  for tag in ("bicubic", "restored", "original")}
        assert detail["bicubic"] * 1.3 < detail["restored"] < detail["original"], (name, detail)
    assert len(reports["restore"]["galleries"][0]["items"]) == 4
    colorize = reports["colorize"]
    if colorize["unavailable"]:
        assert any(u["reason"].startswith("no shipped colorizer installed")
                   for u in colorize["unavailable"])
    assert any(g["title"] == "Greyscale inputs" and len(g["items"]) == 4 for g in colorize["galleries"])
    assert reports["numbers"]["texts"][0]["lines"]
    mnist = [g["title"] for g in reports["mnist"]["galleries"]]
    assert any("Top losses" in t for t in mnist)
    wgan = {f["name"]: f["ours"] for f in reports["wgan"]["figures"]}
    assert 0 <= wgan["samples the ResNet reads as a digit with p >= 0.9"] <= 1
    assert wgan["classifier-FID, trained generator"] < wgan["classifier-FID, untrained generator"]
    # a rerun with the same settings keeps every finished stage
    assert main(["demo", "--quick", "--device", "cpu", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text()) == summary


def laplacian_energy(path) -> float:
    """Mean |4-neighbour Laplacian| of the image's luma, in 0-255 levels."""
    import numpy as np
    from PIL import Image

    y = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(np.abs(lap).mean())
