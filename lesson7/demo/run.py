"""`run_demo(cfg)`: every stage of the lesson, offline, into one folder, then one HTML report.

Each stage gets OUT/<stage>/ and writes OUT/<stage>/report.json (`stage_report`); a stage
whose report.json exists for the same settings is kept, an unfinished one is redone.
OUT/summary.json lists each stage's state and figures. A stage that fails is recorded as
failed (the others still run) and the demo exits non-zero. At the end the HTML report is
written with `lesson7.report.write_report`, when that module is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lesson7.configs.demo import STAGE_NAMES, DemoConfig
from lesson7.demo.colorize import stage_colorize
from lesson7.demo.context import StageContext
from lesson7.demo.gan import stage_gan
from lesson7.demo.mnist import stage_mnist
from lesson7.demo.numbers import stage_numbers
from lesson7.demo.progress import StageProgress
from lesson7.demo.restore import stage_restore
from lesson7.demo.stage_report import REPORT_NAME, StageReport, check_report
from lesson7.demo.wgan import stage_wgan
from lesson7.files import atomic_write_json

__all__ = ["STAGES", "run_demo", "write_html_report"]

Stage = Callable[[StageContext], StageReport]
STAGES: dict[str, tuple[Stage, int, str]] = {
    # name: (function, number of progress steps, one line for the header)
    "mnist": (stage_mnist, 2, "the lesson's ResNet reads handwritten digits"),
    "numbers": (stage_numbers, 2, "a GRU predicts the next word of numbers in words"),
    "restore": (stage_restore, 2, "the shipped restorer on 4 photos, then a short fine-tune"),
    "colorize": (stage_colorize, 1, "the shipped colorizer on greyscale photos"),
    "gan": (stage_gan, 2, "the NoGAN chain: generator, critic, GAN, before/after"),
    "wgan": (stage_wgan, 2, "a WGAN-GP draws digits, the mnist ResNet judges them"),
}
assert tuple(STAGES) == STAGE_NAMES
DEMO_MARK = "summary.json"


def _settings(cfg: DemoConfig, device: str) -> dict[str, Any]:
    return {"quick": cfg.quick, "seed": cfg.seed, "device": device}


def _finished(stage_dir: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The stage's report if it finished under the same settings."""
    try:
        done = json.loads((stage_dir / "settings.json").read_text())
        report = json.loads((stage_dir / REPORT_NAME).read_text())
    except (OSError, ValueError):
        return None
    return report if done == settings else None


def _check_out(out: Path) -> None:
    """Refuse an existing non-empty folder that is not a demo's: the demo replaces what it finds
    in its stage folders, so it must never be pointed at someone's data."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / DEMO_MARK).is_file():
        raise ValueError(f"--out {out} is a non-empty folder without {DEMO_MARK}: not a demo "
                         "folder; pass an empty or new folder")


def write_html_report(stage_dirs: list[Path], path: Path) -> Path | None:
    """`lesson7.report.write_report` if this lesson7 has it; else says so and returns None."""
    try:
        from lesson7.report import write_report  # type: ignore[attr-defined]
    except ImportError:
        print("the HTML report is not available in this version of lesson7 "
              "(no lesson7.report.write_report); the stage folders hold report.json files")
        return None
    write_report(stage_dirs, path)
    return path


def run_demo(cfg: DemoConfig) -> dict[str, Any]:
    """Run the chosen stages in order, offline; returns {stage: {"status", "report"|"error"}}.

    The demo promises no downloads: LESSON7_OFFLINE is set while it runs, so a metric whose
    ImageNet weights are not already on this machine (LPIPS's AlexNet) is reported unavailable
    instead of fetched by torchvision."""
    previous = os.environ.get("LESSON7_OFFLINE")
    os.environ["LESSON7_OFFLINE"] = "1"
    try:
        return _run_demo(cfg)
    finally:
        if previous is None:
            del os.environ["LESSON7_OFFLINE"]
        else:
            os.environ["LESSON7_OFFLINE"] = previous


def _run_demo(cfg: DemoConfig) -> dict[str, Any]:
    import torch

    from lesson7.train.learner import pick_device

    device = str(pick_device(cfg.device))  # an unusable --device fails before any work
    device_desc = f"{device} ({torch.get_num_threads()} threads)" if device == "cpu" else device
    out = Path(cfg.out)
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / DEMO_MARK
    summary: dict[str, Any] = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    atomic_write_json(summary_path, summary)
    names = list(cfg.only or STAGES)
    settings = _settings(cfg, device)
    t_demo = time.perf_counter()
    for i, name in enumerate(names, 1):
        fn, n_steps, what = STAGES[name]
        stage_dir = out / name
        progress = StageProgress(name, i, len(names), n_steps)
        progress.header(what)
        done = _finished(stage_dir, settings)
        if done is not None:
            progress.note(f"already done with these settings ({stage_dir / REPORT_NAME}); kept")
            summary[name] = {"status": "done", "wall_time_s": done["wall_time_s"],
                             "figures": done["figures"]}
            atomic_write_json(summary_path, summary)
            continue
        if stage_dir.exists():  # unfinished or other settings: this folder is the demo's own
            shutil.rmtree(stage_dir)
        stage_dir.mkdir(parents=True)
        ctx = StageContext(root=out, dir=stage_dir, device=device, seed=cfg.seed,
                           quick=cfg.quick, progress=progress)
        t0 = time.perf_counter()
        try:
            rep = fn(ctx)
        except Exception as e:  # one broken stage must not hide the others' results
            traceback.print_exc()
            summary[name] = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
            atomic_write_json(summary_path, summary)
            progress.note(f"FAILED: {type(e).__name__}: {e}")
            continue
        rep.device = (f"cpu (trained on 1 thread of {torch.get_num_threads()})"
                      if device == "cpu" and ctx.trained_on_one_thread else device_desc)
        rep.wall_time_s = round(time.perf_counter() - t0, 2)
        report = rep.to_json()
        check_report(report, stage_dir)
        atomic_write_json(stage_dir / REPORT_NAME, report)
        atomic_write_json(stage_dir / "settings.json", settings)  # last: marks the stage finished
        summary[name] = {"status": "done", "wall_time_s": rep.wall_time_s, "figures": rep.figures}
        atomic_write_json(summary_path, summary)
        progress.note(f"done in {rep.wall_time_s:.0f} s; {len(rep.unavailable)} unavailable "
                      f"item(s); report: {stage_dir / REPORT_NAME}")
    summary_total = time.perf_counter() - t_demo
    stage_dirs = [out / n for n in STAGES if (out / n / REPORT_NAME).is_file()]
    html = write_html_report(stage_dirs, out / "report.html") if stage_dirs else None
    return {"stages": summary, "wall_time_s": summary_total,
            "report_html": str(html) if html else None}
