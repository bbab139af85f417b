"""The run-folder contract for reports: `RUN/report.json`, what one run shows a person.

Any command (or the demo, one folder per stage) writes it at the end; `lesson7 report` turns one
or more run folders into a single HTML page. The JSON shape:

    {"title": str, "command": str, "lesson": str (notebook, e.g. "lesson7-superres"),
     "summary": str, "device": str, "wall_time_s": float | null,
     "figures": [{"name", "ours": number | str, "lesson": number | str | null, "unit", "note"}],
     "curves": [{"name", "xlabel", "x": [numbers], "series": {label: [number | null]}}],
     "galleries": [{"title", "kind": "grid" | "compare",
                    "items": [{"caption", "image"} | {"caption", "before", "after"}]}],
     "texts": [{"title", "lines": [str]}],
     "unavailable": [{"name", "reason"}],
     "config": {...} (optional: the settings, shown folded)}

Image paths are relative to the run folder and must stay inside it (PNG, JPEG, GIF or WebP;
never SVG, which could carry script). Loading checks every field and every image and raises a
one-line `ValueError` naming the file and the field. Torch-free, so any process (a notebook, the
web UI, the CLI's light path) can write or read it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lesson7.files import atomic_write_json

__all__ = ["REPORT_JSON", "IMAGE_SUFFIXES", "Figure", "Curve", "GalleryItem", "Gallery", "TextBlock",
           "Unavailable", "Report", "report_from_dict", "save_report_json", "load_report_json",
           "check_images"]

REPORT_JSON = "report.json"
IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                  ".gif": "image/gif", ".webp": "image/webp"}
GALLERY_KINDS = ("grid", "compare")

Number = float | int


@dataclass
class Figure:
    """One number (or short value) of ours beside the lesson's (None: the lesson has none)."""

    name: str
    ours: Number | str
    lesson: Number | str | None = None
    unit: str = ""
    note: str = ""


@dataclass
class Curve:
    """One chart: several series over the same x (None marks a missing point)."""

    name: str
    xlabel: str
    x: list[Number]
    series: dict[str, list[Number | None]]


@dataclass
class GalleryItem:
    """A grid image (`image`) or a before/after pair (`before`, `after`); paths relative to the run."""

    caption: str
    image: str | None = None
    before: str | None = None
    after: str | None = None

    def paths(self) -> dict[str, str]:
        return {k: v for k, v in (("image", self.image), ("before", self.before),
                                  ("after", self.after)) if v is not None}


@dataclass
class Gallery:
    title: str
    kind: str
    items: list[GalleryItem]


@dataclass
class TextBlock:
    """Lines shown as they are (e.g. an RNN's sample predictions)."""

    title: str
    lines: list[str]


@dataclass
class Unavailable:
    """A figure that could not be computed on this machine, and why."""

    name: str
    reason: str


@dataclass
class Report:
    """What one run (or one demo stage) shows; see the module docstring."""

    title: str
    command: str
    lesson: str
    summary: str
    device: str = ""
    wall_time_s: float | None = None
    figures: list[Figure] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
    galleries: list[Gallery] = field(default_factory=list)
    texts: list[TextBlock] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values; gallery items keep only the paths they have."""
        d = dataclasses.asdict(self)
        for g in d["galleries"]:
            g["items"] = [{k: v for k, v in item.items() if v is not None} for item in g["items"]]
        return d


# -- validation: every message is "<file>: <field>: <what is wrong>" -------------------------------
class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, name: str, msg: str) -> None:
        raise ValueError(f"{self.where}: {name}: {msg}")

    def obj(self, v: Any, name: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            self.fail(name, f"expected an object, got {_kind(v)}")
        return v

    def lst(self, v: Any, name: str) -> list[Any]:
        if not isinstance(v, list):
            self.fail(name, f"expected a list, got {_kind(v)}")
        return v

    def text(self, v: Any, name: str) -> str:
        if not isinstance(v, str):
            self.fail(name, f"expected a string, got {_kind(v)}")
        return v

    def number(self, v: Any, name: str, optional: bool = False) -> Number | None:
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(name, f"expected a finite number{' or null' if optional else ''}, got {v!r}")
        return v

    def value(self, v: Any, name: str, optional: bool = False) -> Number | str | None:
        return v if isinstance(v, str) else self.number(v, name, optional)

    def keys(self, d: dict[str, Any], name: str, required: tuple[str, ...],
             optional: tuple[str, ...] = ()) -> None:
        missing = [k for k in required if k not in d]
        if missing:
            self.fail(name, f"missing field {missing[0]!r}")
        extra = sorted(set(d) - set(required) - set(optional))
        if extra:
            self.fail(name, f"unknown field {extra[0]!r}")


def _kind(v: Any) -> str:
    return "null" if v is None else type(v).__name__.replace("dict", "object").replace("str", "string")


def report_from_dict(d: Any, where: str = REPORT_JSON) -> Report:
    """A `Report` from parsed JSON, or a ValueError "`where`: field: problem"."""
    c = _Checker(where)
    d = c.obj(d, "report")
    c.keys(d, "report", ("title", "command", "lesson", "summary"),
           ("device", "wall_time_s", "figures", "curves", "galleries", "texts", "unavailable",
            "config"))
    figures = []
    for i, f in enumerate(c.lst(d.get("figures", []), "figures")):
        n = f"figures[{i}]"
        c.keys(c.obj(f, n), n, ("name", "ours"), ("lesson", "unit", "note"))
        figures.append(Figure(c.text(f["name"], f"{n}.name"), c.value(f["ours"], f"{n}.ours"),
                              c.value(f.get("lesson"), f"{n}.lesson", optional=True),
                              c.text(f.get("unit", ""), f"{n}.unit"),
                              c.text(f.get("note", ""), f"{n}.note")))
    curves = []
    for i, cv in enumerate(c.lst(d.get("curves", []), "curves")):
        n = f"curves[{i}]"
        c.keys(c.obj(cv, n), n, ("name", "x", "series"), ("xlabel",))
        x = [c.number(v, f"{n}.x[{j}]") for j, v in enumerate(c.lst(cv["x"], f"{n}.x"))]
        series = {}
        for label, ys in c.obj(cv["series"], f"{n}.series").items():
            ys = c.lst(ys, f"{n}.series[{label!r}]")
            if len(ys) != len(x):
                c.fail(f"{n}.series[{label!r}]", f"has {len(ys)} values for {len(x)} x values")
            series[label] = [c.number(v, f"{n}.series[{label!r}][{j}]", optional=True)
                             for j, v in enumerate(ys)]
        curves.append(Curve(c.text(cv["name"], f"{n}.name"), c.text(cv.get("xlabel", ""), f"{n}.xlabel"),
                            x, series))
    galleries = []
    for i, g in enumerate(c.lst(d.get("galleries", []), "galleries")):
        n = f"galleries[{i}]"
        c.keys(c.obj(g, n), n, ("title", "kind", "items"))
        if g["kind"] not in GALLERY_KINDS:
            c.fail(f"{n}.kind", f"expected one of {list(GALLERY_KINDS)}, got {g['kind']!r}")
        items = []
        for j, it in enumerate(c.lst(g["items"], f"{n}.items")):
            m = f"{n}.items[{j}]"
            paths = ("image",) if g["kind"] == "grid" else ("before", "after")
            c.keys(c.obj(it, m), m, ("caption", *paths))
            items.append(GalleryItem(c.text(it["caption"], f"{m}.caption"),
                                     **{p: _rel_path(c, it[p], f"{m}.{p}") for p in paths}))
        galleries.append(Gallery(c.text(g["title"], f"{n}.title"), g["kind"], items))
    texts = []
    for i, t in enumerate(c.lst(d.get("texts", []), "texts")):
        n = f"texts[{i}]"
        c.keys(c.obj(t, n), n, ("title", "lines"))
        texts.append(TextBlock(c.text(t["title"], f"{n}.title"),
                               [c.text(s, f"{n}.lines[{j}]") for j, s in
                                enumerate(c.lst(t["lines"], f"{n}.lines"))]))
    unavailable = []
    for i, u in enumerate(c.lst(d.get("unavailable", []), "unavailable")):
        n = f"unavailable[{i}]"
        c.keys(c.obj(u, n), n, ("name", "reason"))
        unavailable.append(Unavailable(c.text(u["name"], f"{n}.name"), c.text(u["reason"], f"{n}.reason")))
    return Report(title=c.text(d["title"], "title"), command=c.text(d["command"], "command"),
                  lesson=c.text(d["lesson"], "lesson"), summary=c.text(d["summary"], "summary"),
                  device=c.text(d.get("device", ""), "device"),
                  wall_time_s=c.number(d.get("wall_time_s"), "wall_time_s", optional=True),
                  figures=figures, curves=curves, galleries=galleries, texts=texts,
                  unavailable=unavailable, config=c.obj(d.get("config", {}), "config"))


def _rel_path(c: _Checker, v: Any, name: str) -> str:
    """A path inside the run folder to an image type a browser shows safely."""
    p = Path(c.text(v, name))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        c.fail(name, f"must be a path relative to the run folder, inside it; got {str(p)!r}")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        c.fail(name, f"must be one of {sorted(IMAGE_SUFFIXES)}, got {str(p)!r}")
    return p.as_posix()


def check_images(report: Report, run_dir: Path, where: str) -> None:
    """Every gallery image exists in `run_dir` (symlinks may not lead out of it)."""
    root = run_dir.resolve()
    for i, g in enumerate(report.galleries):
        for j, item in enumerate(g.items):
            for key, rel in item.paths().items():
                path = (run_dir / rel).resolve()
                name = f"galleries[{i}].items[{j}].{key}"
                if not path.is_relative_to(root):
                    raise ValueError(f"{where}: {name}: {rel!r} leads outside the run folder")
                if not path.is_file():
                    raise ValueError(f"{where}: {name}: no such image {str(run_dir / rel)!r}")


def save_report_json(run_dir: str | Path, report: Report | None = None, **fields: Any) -> Path:
    """Write RUN/report.json atomically from a `Report` or its fields (lists of dicts welcome):
    `save_report_json(out, title=..., command=..., lesson=..., summary=..., figures=[{...}])`.
    The result is validated (images included) exactly as `load_report_json` will read it."""
    run_dir = Path(run_dir)
    data = _finite(report.to_json() if report is not None
                   else json.loads(json.dumps(fields, default=_plain)))
    path = run_dir / REPORT_JSON
    checked = report_from_dict(data, str(path))
    check_images(checked, run_dir, str(path))
    return atomic_write_json(path, checked.to_json())


def load_report_json(run_dir: str | Path) -> Report:
    """RUN/report.json, checked; a one-line ValueError naming the file and field if it is bad."""
    path = Path(run_dir) / REPORT_JSON
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    report = report_from_dict(data, str(path))
    check_images(report, Path(run_dir), str(path))
    return report


def _finite(o: Any) -> Any:
    """NaN/inf become null (a diverged loss is a gap in its curve; a figure must be finite)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_finite(v) for v in o]
    return o


def _plain(o: Any) -> Any:
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        d = dataclasses.asdict(o)
        return {k: v for k, v in d.items() if v is not None} if isinstance(o, GalleryItem) else d
    if isinstance(o, Path):
        return o.as_posix()
    if hasattr(o, "item") and hasattr(o, "numel"):  # a torch/numpy scalar, without importing torch
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
