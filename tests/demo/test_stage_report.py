"""report.json: the builder writes exactly the shape the HTML report reads; anything else fails."""

import json

import pytest

from lesson7.demo.stage_report import StageReport, check_report


def _report(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    rep = StageReport(title="t", command="lesson7 x", lesson="lesson7-wgan", summary="s")
    rep.figure("accuracy", 0.9, 0.995, note="n")
    rep.figure("status", "ok")
    rep.curve("loss", "epoch", [1, 2], {"train": [1.0, 0.5]})
    rep.grid("g", [("c", "a.png")])
    rep.compare("c", [("c", "a.png", "a.png")])
    rep.text("t", ["line"])
    rep.missing("LPIPS", "no weights")
    return rep.to_json()


def test_builder_output_passes_and_round_trips_through_json(tmp_path):
    report = _report(tmp_path)
    check_report(json.loads(json.dumps(report)), tmp_path)
    assert list(report) == ["title", "command", "lesson", "summary", "device", "wall_time_s",
                            "figures", "curves", "galleries", "texts", "unavailable"]
    assert report["figures"][1] == {"name": "status", "ours": "ok", "lesson": None, "unit": "",
                                    "note": ""}


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r.pop("texts"), "keys must be exactly"),
    (lambda r: r.update(extra=1), "keys must be exactly"),
    (lambda r: r.update(wall_time_s=float("nan")), "wall_time_s"),
    (lambda r: r["figures"][0].update(ours=None), "ours must be"),
    (lambda r: r["figures"][0].update(lesson=[1]), "lesson must be"),
    (lambda r: r["curves"][0]["series"].update(valid=[1.0]), "one value per x"),
    (lambda r: r["galleries"][0].update(kind="slider"), "kind"),
    (lambda r: r["galleries"][0]["items"][0].update(image="/etc/passwd"), "relative"),
    (lambda r: r["galleries"][1]["items"][0].update(after="../a.png"), "relative"),
    (lambda r: r["galleries"][0]["items"][0].update(image="missing.png"), "does not exist"),
    (lambda r: r["unavailable"].append({"name": "x"}), "unavailable entry"),
])
def test_anything_else_fails_naming_the_problem(tmp_path, breakage, message):
    report = _report(tmp_path)
    breakage(report)
    with pytest.raises(ValueError, match=message):
        check_report(report, tmp_path)
