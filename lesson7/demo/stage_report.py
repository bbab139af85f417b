"""A demo stage's `report.json`: what it did, our figures beside the lesson's, curves, images.

One fixed shape for every stage (the HTML report renders it; image paths are relative to the
stage folder):

    {"title", "command", "lesson", "summary", "device", "wall_time_s",
     "figures":   [{"name", "ours", "lesson", "unit", "note"}],
     "curves":    [{"name", "xlabel", "x", "series": {label: [y]}}],
     "galleries": [{"title", "kind": "grid" | "compare",
                    "items": [{"caption", "image"} | {"caption", "before", "after"}]}],
     "texts":     [{"title", "lines"}],
     "unavailable": [{"name", "reason"}]}

`StageReport` builds it; `check_report` rejects anything else (the demo checks every report it
writes, and the tests use it too). Torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["StageReport", "check_report", "REPORT_NAME"]

REPORT_NAME = "report.json"
_KEYS = ("title", "command", "lesson", "summary", "device", "wall_time_s", "figures", "curves",
         "galleries", "texts", "unavailable")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass
class StageReport:
    """What one demo stage shows; `to_json()` is the report.json content."""

    title: str
    command: str
    lesson: str
    summary: str = ""
    device: str = "cpu"
    wall_time_s: float = 0.0
    figures: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    galleries: list[dict[str, Any]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[dict[str, str]] = field(default_factory=list)

    def figure(self, name: str, ours: float | str, lesson: float | str | None = None,
               unit: str = "", note: str = "") -> None:
        """One figure, ours beside the lesson's (None: the notebook records no such number)."""
        self.figures.append({"name": name, "ours": ours, "lesson": lesson, "unit": unit,
                             "note": note})

    def curve(self, name: str, xlabel: str, x: list[float], series: dict[str, list[float]]) -> None:
        self.curves.append({"name": name, "xlabel": xlabel, "x": [float(v) for v in x],
                            "series": {k: [float(v) for v in s] for k, s in series.items()}})

    def grid(self, title: str, items: list[tuple[str, str]]) -> None:
        """A gallery of single images: (caption, relative path) pairs."""
        self.galleries.append({"title": title, "kind": "grid",
                               "items": [{"caption": c, "image": p} for c, p in items]})

    def compare(self, title: str, items: list[tuple[str, str, str]]) -> None:
        """A gallery of before/after pairs: (caption, before path, after path)."""
        self.galleries.append({"title": title, "kind": "compare",
                               "items": [{"caption": c, "before": b, "after": a}
                                         for c, b, a in items]})

    def text(self, title: str, lines: list[str]) -> None:
        self.texts.append({"title": title, "lines": [str(s) for s in lines]})

    def missing(self, name: str, reason: str) -> None:
        """A metric or part that could not be computed here, and why (the stage still runs)."""
        self.unavailable.append({"name": name, "reason": reason})

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _KEYS}


def check_report(report: dict[str, Any], stage_dir: str | Path | None = None) -> None:
    """Raise ValueError unless `report` has exactly the report.json shape (and, given the
    stage folder, every image it names exists inside it)."""
    def fail(msg: str) -> None:
        raise ValueError(f"report.json: {msg}")

    if not isinstance(report, dict) or tuple(sorted(report)) != tuple(sorted(_KEYS)):
        got = sorted(report) if isinstance(report, dict) else report
        fail(f"keys must be exactly {list(_KEYS)}, got {got!r}")
    for k in ("title", "command", "lesson", "summary", "device"):
        if not isinstance(report[k], str):
            fail(f"{k} must be a string")
    if not _number(report["wall_time_s"]):
        fail("wall_time_s must be a finite number")
    for f in report["figures"]:
        if sorted(f) != ["lesson", "name", "note", "ours", "unit"]:
            fail(f"figure keys: {sorted(f)}")
        if not (_number(f["ours"]) or isinstance(f["ours"], str)):
            fail(f"figure {f['name']!r}: ours must be a number or a string")
        if not (f["lesson"] is None or _number(f["lesson"]) or isinstance(f["lesson"], str)):
            fail(f"figure {f['name']!r}: lesson must be a number, a string or null")
        if not all(isinstance(f[k], str) for k in ("name", "unit", "note")):
            fail(f"figure {f.get('name')!r}: name, unit, note must be strings")
    for c in report["curves"]:
        if sorted(c) != ["name", "series", "x", "xlabel"] or not isinstance(c["series"], dict):
            fail(f"curve keys: {sorted(c)}")
        for label, ys in c["series"].items():
            if not isinstance(label, str) or len(ys) != len(c["x"]):
                fail(f"curve {c['name']!r}: series {label!r} must have one value per x")
            if not all(_number(v) for v in [*ys, *c["x"]]):
                fail(f"curve {c['name']!r}: values must be finite numbers")
    root = Path(stage_dir) if stage_dir is not None else None
    for g in report["galleries"]:
        if sorted(g) != ["items", "kind", "title"] or g["kind"] not in ("grid", "compare"):
            fail(f"gallery keys/kind: {sorted(g)} {g.get('kind')!r}")
        want = ["caption", "image"] if g["kind"] == "grid" else ["after", "before", "caption"]
        for item in g["items"]:
            if sorted(item) != want:
                fail(f"gallery {g['title']!r}: item keys {sorted(item)}, expected {want}")
            for k in want[1:] if g["kind"] == "grid" else ("before", "after"):
                p = Path(item[k])
                if p.is_absolute() or ".." in p.parts:
                    fail(f"gallery {g['title']!r}: image path {item[k]!r} must be relative to "
                         "the stage folder")
                if root is not None and not (root / p).is_file():
                    fail(f"gallery {g['title']!r}: {root / p} does not exist")
    for t in report["texts"]:
        if sorted(t) != ["lines", "title"] or not all(isinstance(s, str) for s in t["lines"]):
            fail(f"text keys: {sorted(t)}")
    for u in report["unavailable"]:
        if sorted(u) != ["name", "reason"] or not all(isinstance(v, str) and v for v in u.values()):
            fail(f"unavailable entry: {u!r}")
