"""A `Report` built from the files a run folder already has, for folders without report.json.

Every command writes config.json (its config class), metrics.json (final numbers, a per-epoch
"history", device and wall time) and PNGs; crappify writes DST/crappify_report.json. From those:
figures = the final numbers (with the lesson's beside them where it recorded one, `lessons.py`),
curves = the history (losses in one chart, other metrics in another), galleries = the PNGs
(WGAN's samples_epochN.png in epoch order), config = config.json. Restore eval folders
(`eval*/metrics.json`) add the model-vs-baseline numbers to their training run's figures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lesson7.report.contract import (
    IMAGE_SUFFIXES,
    REPORT_JSON,
    Curve,
    Figure,
    Gallery,
    GalleryItem,
    Report,
    TextBlock,
    Unavailable,
)
from lesson7.report.lessons import CONFIG_TASKS, TASKS, lesson_figure

__all__ = ["is_run_folder", "report_from_run"]

# History columns that are bookkeeping, not measurements.
_NOT_MEASURED = {"epoch", "time", "gen_batches", "critic_batches", "stage", "size", "stage_epoch"}
# Top-level metrics.json keys that are not figures (shown elsewhere or not numbers of quality).
_NOT_FIGURES = _NOT_MEASURED | {"world_size", "host_cpus", "params_trainable", "train_wall_s",
                                "train_seconds", "total_seconds", "complete", "lr_find_suggestion",
                                "epochs", "lr", "bs", "seed"}  # settings: shown with the config
_SAMPLES = re.compile(r"samples_epoch(\d+)\.png")
_MAX_CRAPPIFY_SAMPLES = 8
_MAX_EPOCH_SAMPLES = 8  # a 30-epoch WGAN would otherwise make a page of 30 sample sheets


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    return data if isinstance(data, dict) else None


def is_run_folder(path: Path) -> bool:
    """A folder some command wrote (it has one of the files the commands write)."""
    return any((path / f).is_file() for f in (REPORT_JSON, "config.json", "metrics.json",
                                              "crappify_report.json"))


def _task(config: dict[str, Any], metrics: dict[str, Any], run_dir: Path) -> str | None:
    if (run_dir / "crappify_report.json").is_file():
        return "crappify"
    task = CONFIG_TASKS.get(str(config.get("config")))
    if task is None:
        task = metrics.get("task")
    if task is None and "model" in metrics and "baseline" in metrics:
        task = "restore eval"
    if task is None and (run_dir / "image_gen").is_dir() and "metrics" in metrics:
        task = "gan restore"
    return task


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def report_from_run(run_dir: str | Path) -> Report:
    """What the run folder's own files show (see the module docstring)."""
    run_dir = Path(run_dir)
    config = _json(run_dir / "config.json") or {}
    metrics = _json(run_dir / "metrics.json") or {}
    task = _task(config, metrics, run_dir) or "run"
    info = TASKS.get(task)
    report = Report(
        title=f"{info.command if info else 'run'}: {run_dir.name}",
        command=info.command if info else "lesson7",
        lesson=info.lesson if info else "",
        summary=info.summary if info else "A run folder (its command is not recorded).",
        device=str(metrics.get("device", "")),
        wall_time_s=next((float(metrics[k]) for k in ("train_wall_s", "total_seconds", "train_seconds")
                          if _number(metrics.get(k))), None),
        config={k: v for k, v in config.items() if k != "config"})
    if task == "crappify":
        _crappify(report, run_dir)
    elif task == "gan restore":
        _before_after(report, metrics)
    elif task == "restore eval":
        _eval_figures(report, metrics, "")
    else:
        _figures(report, task, metrics, config)
    history = metrics.get("history")
    if isinstance(history, list) and history and all(isinstance(r, dict) for r in history):
        report.curves = _curves(history)
    samples = metrics.get("samples")
    if isinstance(samples, list) and samples and all(isinstance(t, str) for t in samples):
        report.texts.append(TextBlock("Sample predictions (validation rows, from a zero state)", samples))
    for sub in sorted(run_dir.glob("eval*/metrics.json")):
        sub_metrics = _json(sub)
        if sub_metrics and "model" in sub_metrics and "baseline" in sub_metrics:
            _eval_figures(report, sub_metrics, f" ({sub.parent.name})")
    report.galleries += _png_galleries(run_dir)
    return report


def _figures(report: Report, task: str, metrics: dict[str, Any], config: dict[str, Any]) -> None:
    """The final row and the top-level scalars, each with the lesson's value where known."""
    final = metrics.get("final") if isinstance(metrics.get("final"), dict) else {}
    seen = set()
    for source in (final, metrics):
        for key, v in source.items():
            if key in _NOT_FIGURES or key in seen or not _number(v):
                continue
            seen.add(key)
            lesson = lesson_figure(task, key, {**config, **metrics})
            note = ""
            if task == "numbers" and key == "accuracy":
                lesson = metrics.get("reference_accuracy")
                note = "lesson: its recorded final accuracy for this model"
            elif lesson is not None:
                note = "lesson: the notebook's final value on its full data"
            if key == "reference_accuracy":
                continue
            report.figures.append(Figure(key, v, lesson, "", note))
    # `numbers --all` has one final row per model
    if task == "numbers" and all(isinstance(v, dict) for v in final.values()) and final:
        refs = metrics.get("reference_accuracy") or {}
        for model, row in final.items():
            if _number(row.get("accuracy")):
                report.figures.append(Figure(f"model {model} accuracy", row["accuracy"],
                                             refs.get(model), "", "lesson: its recorded final accuracy"))
    if _number(metrics.get("fid")) and _number(metrics.get("fid_untrained_generator")):
        report.figures.append(Figure("fid / untrained generator's fid",
                                     metrics["fid"] / metrics["fid_untrained_generator"], None, "",
                                     "lower is better; the lesson reports no quality metric"))


def _eval_figures(report: Report, m: dict[str, Any], where: str) -> None:
    model, base = m.get("model") or {}, m.get("baseline") or {}
    n = m.get("n_images")
    for key in ("psnr", "psnr_y", "ssim", "lpips"):
        ours, ref = model.get(key), base.get(key)
        if _number(ours):
            unit = "dB" if key.startswith("psnr") else ""
            note = (f"baseline (degraded input{', ' + str(m['degrade']) if m.get('degrade') else ''}): "
                    f"{ref:.4g}" if _number(ref) else "baseline: n/a")
            if n:
                note += f"; {n} images" + (f" from {m['hr']}" if m.get("hr") else "")
            report.figures.append(Figure(f"{key}{where}", ours, None, unit, note))
        elif key in model:
            report.unavailable.append(_unavailable(f"{key}{where}", m.get("metric_notes")))


def _unavailable(name: str, notes: Any) -> Unavailable:
    return Unavailable(name, "not computed in this run (e.g. LPIPS without its AlexNet weights)"
                       + (f"; {notes}" if notes else ""))


def _before_after(report: Report, metrics: dict[str, Any]) -> None:
    """gan restore: each metric after the GAN, with the values before it and of the input."""
    for key, row in (metrics.get("metrics") or {}).items():
        if not isinstance(row, dict):
            continue
        if _number(row.get("after_gan")):
            parts = [f"{k.replace('_', ' ')}: {row[k]:.4g}" for k in ("before_gan", "input")
                     if _number(row.get(k))]
            report.figures.append(Figure(f"{key} after GAN", row["after_gan"], None,
                                         "dB" if key.startswith("psnr") else "", "; ".join(parts)))
        else:
            report.unavailable.append(_unavailable(key, metrics.get("notes")))


def _crappify(report: Report, run_dir: Path) -> None:
    summary = _json(run_dir / "crappify_report.json") or {}
    report.config = {k: summary[k] for k in ("mode", "crappifier", "seed") if k in summary}
    for key in ("written", "skipped"):
        if _number(summary.get(key)):
            report.figures.append(Figure(f"images {key}", summary[key]))
    failed = summary.get("failed") or []
    report.figures.append(Figure("images failed", len(failed)))
    samples = []
    for path in sorted(run_dir.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            samples.append(GalleryItem(path.relative_to(run_dir).as_posix(),
                                       image=path.relative_to(run_dir).as_posix()))
            if len(samples) == _MAX_CRAPPIFY_SAMPLES:
                break
    if samples:
        report.galleries.append(Gallery("Degraded samples (first few)", "grid", samples))


def _curves(history: list[dict[str, Any]]) -> list[Curve]:
    """Losses in one chart, the other measured columns in another, over epochs 1..N."""
    x = [int(r["epoch"]) + 1 if _number(r.get("epoch")) else i + 1 for i, r in enumerate(history)]
    columns = [k for k in history[0] if k not in _NOT_MEASURED]
    columns += [k for r in history for k in r if k not in columns and k not in _NOT_MEASURED]
    series = {k: [r.get(k) if _number(r.get(k)) else None for r in history] for k in columns}
    series = {k: v for k, v in series.items() if any(y is not None for y in v)}
    losses = {k: v for k, v in series.items() if "loss" in k}
    others = {k: v for k, v in series.items() if "loss" not in k}
    curves = []
    if losses:
        curves.append(Curve("loss", "epoch", x, losses))
    if others:
        curves.append(Curve(", ".join(others), "epoch", x, others))
    return curves


def _png_galleries(run_dir: Path) -> list[Gallery]:
    """The run folder's own images: WGAN samples in epoch order, then every other figure."""
    images = sorted(p for p in run_dir.iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    samples = sorted((int(m.group(1)), p) for p in images if (m := _SAMPLES.fullmatch(p.name)))
    if len(samples) > _MAX_EPOCH_SAMPLES:  # evenly spaced epochs, the first and the last among them
        step = (len(samples) - 1) / (_MAX_EPOCH_SAMPLES - 1)
        samples = [samples[round(i * step)] for i in range(_MAX_EPOCH_SAMPLES)]
    galleries = []
    if samples:
        galleries.append(Gallery("Samples from fixed noise, by epoch", "grid",
                                 [GalleryItem(f"epoch {n}", image=p.name) for n, p in samples]))
    others = [p for p in images if not _SAMPLES.fullmatch(p.name)]
    if others:
        galleries.append(Gallery("Figures", "grid",
                                 [GalleryItem(_caption(p.name), image=p.name) for p in others]))
    return galleries


_CAPTIONS = {"show_batch.png": "a batch of training data (show_batch)", "loss.png": "training loss",
             "lr_find.png": "learning-rate finder", "results.png": "input / prediction / target"}


def _caption(name: str) -> str:
    return _CAPTIONS.get(name, name)
