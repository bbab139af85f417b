"""The page: self-contained, escaped, with our figures beside the lesson's; built from report.json
or, without one, from the files a command wrote."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import pytest
from report.conftest import EVIL, write_image

from lesson7.report import write_report
from lesson7.report.page import collect_runs


def _images(page: str) -> list[bytes]:
    found = re.findall(r'src="data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(m) for m in found]


def test_page_is_self_contained_and_shows_every_part(sample_run: Path, tmp_path: Path) -> None:
    out = write_report([sample_run], tmp_path / "page.html")
    page = out.read_text()
    assert not re.search(r"https?://", page)  # nothing fetched from the network
    assert not re.search(r"<(link|iframe|object|embed)\b|src=\"(?!data:)", page)
    # images inlined byte for byte, in the order of the galleries
    assert _images(page) == [(sample_run / p).read_bytes()
                             for p in ("batch.png", "pairs/before.jpg", "pairs/after.png")]
    # ours beside the lesson's, wall time, device, notebook
    assert re.search(r"<th scope=row>accuracy</th><td class=ours>0.9877</td><td>0.9952</td>", page)
    assert "<td class=ours>41,132</td><td>—</td>" in page
    assert "1 min 16 s" in page and "cpu (2 threads)" in page and "lesson7-resnet-mnist.ipynb" in page
    assert "<b>lpips</b>: no AlexNet weights on this machine" in page
    # train_loss as a line; valid_loss broken at its gap into two single points
    assert page.count("<polyline") == 1 and page.count("<circle") == 2
    assert 'type=range' in page and "--pos:50%" in page  # the before/after slider
    assert "one , two -&gt; three\na &lt; b" in page


def test_captions_and_notes_are_escaped(sample_run: Path, tmp_path: Path) -> None:
    page = write_report([sample_run], tmp_path / "page.html").read_text()
    assert EVIL not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("<script>") == 1  # only the slider's


def test_a_file_that_is_not_the_image_its_name_says_is_refused(sample_run: Path, tmp_path: Path) -> None:
    (sample_run / "batch.png").write_text("<svg onload=alert(1)>")
    with pytest.raises(ValueError, match=r"batch\.png: not a image/png file"):
        write_report([sample_run], tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()


def test_out_may_not_be_an_input_or_a_folder(sample_run: Path) -> None:
    with pytest.raises(ValueError, match="is one of the report's inputs"):
        write_report([sample_run], sample_run / "batch.png")
    with pytest.raises(ValueError, match="is a folder"):
        write_report([sample_run], sample_run)
    with pytest.raises(ValueError, match="no such run folder"):
        write_report([sample_run / "missing"], sample_run / "r.html")


def _history(n: int, **cols: float) -> list[dict]:
    return [{"epoch": i, **{k: v / (i + 1) for k, v in cols.items()}, "time": 0.1} for i in range(n)]


def test_a_run_without_report_json_is_read_from_its_files(tmp_path: Path) -> None:
    run = tmp_path / "mnist"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": "MnistConfig", "model": "resnet", "bs": 64}))
    (run / "metrics.json").write_text(json.dumps({
        "task": "mnist", "model": "resnet", "params": 41132,
        "final": {"accuracy": 0.95, "valid_loss": 0.17, "train_loss": 0.16},
        "history": _history(3, train_loss=1.0, valid_loss=1.2, accuracy=0.3),
        "train_wall_s": 2.5, "device": "cpu (cpu, 2 threads)"}))
    write_image(run / "show_batch.png", (60, 60), 0)
    (_, report), = collect_runs(run)
    assert report.command == "lesson7 mnist" and report.lesson == "lesson7-resnet-mnist"
    figures = {f.name: (f.ours, f.lesson) for f in report.figures}
    assert figures["accuracy"] == (0.95, 0.9952) and figures["valid_loss"] == (0.17, 0.01612)
    assert "bs" not in figures and "time" not in figures  # settings and bookkeeping are not figures
    assert [c.name for c in report.curves] == ["loss", "accuracy"]
    assert report.curves[0].x == [1, 2, 3] and set(report.curves[0].series) == {"train_loss", "valid_loss"}
    assert report.wall_time_s == 2.5 and report.device == "cpu (cpu, 2 threads)"
    assert report.galleries[0].items[0].image == "show_batch.png"
    assert report.config == {"model": "resnet", "bs": 64}


def test_a_run_folders_image_linking_outside_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"task": "mnist"}))
    (run / "loss.png").symlink_to(write_image(tmp_path / "elsewhere.png", (8, 8), 0))
    with pytest.raises(ValueError, match="'loss.png' leads outside the run folder"):
        write_report([run], tmp_path / "r.html")


def test_wgan_samples_in_epoch_order_and_fid_ratio(tmp_path: Path) -> None:
    run = tmp_path / "wgan"
    (run).mkdir()
    (run / "config.json").write_text(json.dumps({"config": "WGANConfig"}))
    (run / "metrics.json").write_text(json.dumps({
        "history": _history(2, gen_loss=1.0, critic_loss=-2.0), "fid": 20.0,
        "fid_untrained_generator": 100.0, "total_seconds": 9.0}))
    for n in (1, 2, 10):
        write_image(run / f"samples_epoch{n}.png", (16, 16), n)
    (_, report), = collect_runs(run)
    assert [it.caption for it in report.galleries[0].items] == ["epoch 1", "epoch 2", "epoch 10"]
    for n in range(3, 31):
        write_image(run / f"samples_epoch{n}.png", (4, 4), n)
    (_, report), = collect_runs(run)
    assert [it.caption for it in report.galleries[0].items] == [
        f"epoch {n}" for n in (1, 5, 9, 13, 18, 22, 26, 30)]  # at most 8, evenly spaced
    assert ("fid / untrained generator's fid", 0.2) in {(f.name, f.ours) for f in report.figures}
    assert report.command == "lesson7 wgan" and report.wall_time_s == 9.0


def test_sub_runs_get_sections_in_the_order_they_ran(sample_run: Path, tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    for name in ("zeta", "alpha"):  # zeta ran first
        stage = demo / name
        stage.mkdir(parents=True)
        (stage / "config.json").write_text(json.dumps({"config": "NumbersConfig"}))
        (stage / "metrics.json").write_text(json.dumps({
            "task": "numbers", "final": {"accuracy": 0.8, "valid_loss": 1.0}, "reference_accuracy": 0.807,
            "history": _history(2, accuracy=0.8), "samples": ['one , two -> next: "three"']}))
    stage = demo / "restore"  # a run with a restore eval folder
    (stage / "eval").mkdir(parents=True)
    (stage / "config.json").write_text(json.dumps({"config": "RestoreTrainConfig"}))
    (stage / "metrics.json").write_text(json.dumps({"task": "restore", "history": []}))
    (stage / "eval" / "metrics.json").write_text(json.dumps({
        "model": {"psnr": 30.0, "lpips": None}, "baseline": {"psnr": 28.0, "lpips": None},
        "n_images": 5, "degrade": "bicubic-x4"}))
    os.utime(demo / "alpha" / "config.json", (2e9, 2e9))
    os.utime(demo / "restore" / "config.json", (3e9, 3e9))
    runs = collect_runs(demo)
    assert [d.name for d, _ in runs] == ["zeta", "alpha", "restore"]
    assert runs[0][1].figures[0].lesson == 0.807
    assert runs[0][1].texts[0].lines == ['one , two -> next: "three"']
    restore = runs[2][1]
    assert [(f.name, f.ours, f.unit) for f in restore.figures] == [("psnr (eval)", 30.0, "dB")]
    assert "28" in restore.figures[0].note and [u.name for u in restore.unavailable] == ["lpips (eval)"]
    page = write_report([demo, sample_run], tmp_path / "all.html").read_text()
    assert page.count("<section class=run") == 4 and '<a href="#run-3">mnist stage</a>' in page
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a run folder"):
        write_report([tmp_path / "empty"], tmp_path / "x.html")


def test_the_readme_example_runs(tmp_path: Path, monkeypatch) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code, = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "save_report_json(" in b]
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "runs" / "mine" / "show_batch.png", (40, 40), 0)
    exec(compile(code, "README.md", "exec"), {})
    page = (tmp_path / "runs" / "mine" / "report.html").read_text()
    assert "<title>my run</title>" in page and "data:image/png;base64," in page
