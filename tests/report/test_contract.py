"""report.json: what a command writes is what the page reads; a bad file is one line naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lesson7.report import Figure, Report, load_report_json, save_report_json

MINIMAL = {"title": "t", "command": "lesson7 x", "lesson": "lesson7-wgan", "summary": "s"}


def test_round_trip_keeps_every_field(sample_run: Path) -> None:
    report = load_report_json(sample_run)
    assert report.figures[0] == Figure("accuracy", 0.98765, 0.9952, "", "10k digits")
    assert report.curves[0].series["valid_loss"] == [2.5, None, 0.7]
    assert report.galleries[1].items[0].paths() == {"before": "pairs/before.jpg", "after": "pairs/after.png"}
    again = sample_run.parent / "again"
    again.mkdir()
    for rel in ("batch.png", "pairs/before.jpg", "pairs/after.png"):
        (again / rel).parent.mkdir(exist_ok=True)
        (again / rel).write_bytes((sample_run / rel).read_bytes())
    save_report_json(again, report)
    assert load_report_json(again) == report


def test_minimal_report_and_dataclass_input(tmp_path: Path) -> None:
    save_report_json(tmp_path, Report(**MINIMAL, figures=[Figure("fid", 12.5, None, "", "lower is better")]))
    assert load_report_json(tmp_path).figures[0].ours == 12.5
    save_report_json(tmp_path, **MINIMAL)
    assert load_report_json(tmp_path).wall_time_s is None


def test_a_nan_in_a_curve_becomes_a_gap_but_a_nan_figure_is_refused(tmp_path: Path) -> None:
    save_report_json(tmp_path, **MINIMAL, curves=[{"name": "loss", "xlabel": "epoch", "x": [1, 2],
                                                   "series": {"l": [1.0, float("nan")]}}])
    assert load_report_json(tmp_path).curves[0].series["l"] == [1.0, None]
    with pytest.raises(ValueError, match=r"report\.json: figures\[0\]\.ours: expected a finite number"):
        save_report_json(tmp_path, **MINIMAL, figures=[{"name": "fid", "ours": float("inf")}])


@pytest.mark.parametrize("change, field", [
    ({"title": None}, "title: expected a string, got null"),
    ({"summary": 3}, "summary: expected a string, got int"),
    ({"wall_time_s": "long"}, "wall_time_s: expected a finite number or null"),
    ({"colour": "red"}, "report: unknown field 'colour'"),
    ({"figures": [{"name": "a"}]}, "figures[0]: missing field 'ours'"),
    ({"figures": [{"name": "a", "ours": [1]}]}, "figures[0].ours: expected a finite number"),
    ({"curves": [{"name": "c", "x": [1, 2], "series": {"l": [1]}}]},
     "curves[0].series['l']: has 1 values for 2 x values"),
    ({"galleries": [{"title": "g", "kind": "slideshow", "items": []}]}, "galleries[0].kind: expected one of"),
    ({"galleries": [{"title": "g", "kind": "grid", "items": [{"caption": "c", "image": "../x.png"}]}]},
     "galleries[0].items[0].image: must be a path relative to the run folder"),
    ({"galleries": [{"title": "g", "kind": "grid", "items": [{"caption": "c", "image": "/etc/x.png"}]}]},
     "galleries[0].items[0].image: must be a path relative to the run folder"),
    ({"galleries": [{"title": "g", "kind": "grid", "items": [{"caption": "c", "image": "x.svg"}]}]},
     "galleries[0].items[0].image: must be one of"),
    ({"galleries": [{"title": "g", "kind": "grid", "items": [{"caption": "c", "image": "gone.png"}]}]},
     "galleries[0].items[0].image: no such image"),
    ({"galleries": [{"title": "g", "kind": "compare", "items": [{"caption": "c", "image": "a.png"}]}]},
     "galleries[0].items[0]: missing field 'before'"),
    ({"texts": [{"title": "t", "lines": "one line"}]}, "texts[0].lines: expected a list, got string"),
    ({"unavailable": [{"name": "lpips"}]}, "unavailable[0]: missing field 'reason'"),
])
def test_a_bad_report_json_is_one_line_naming_file_and_field(tmp_path: Path, change, field) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({**MINIMAL, **change}))
    with pytest.raises(ValueError) as e:
        load_report_json(tmp_path)
    message = str(e.value)
    assert message.startswith(f"{path}: ") and field in message and "\n" not in message


def test_invalid_json_and_escaping_symlinks_are_refused(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"report\.json: not valid JSON"):
        load_report_json(tmp_path)
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "link.png").symlink_to(outside)
    with pytest.raises(ValueError, match=r"items\[0\]\.image: 'link.png' leads outside the run folder"):
        save_report_json(run, **MINIMAL, galleries=[{"title": "g", "kind": "grid",
                                                     "items": [{"caption": "c", "image": "link.png"}]}])
    assert not (run / "report.json").exists()  # nothing half-checked is written
