"""`lesson7 crappify SRC DST`: exit codes, failure listing, report file, determinism."""

from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image

from lesson7.tasks import crappify


def _cli(*argv) -> int:
    p = argparse.ArgumentParser()
    crappify.register(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(["crappify", *map(str, argv)])
    return args.func(args)


def _src(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (120, 150, 3), dtype=np.uint8)).save(src / f"{i}.jpg")
    return src


def test_cli_ok_then_skip_then_overwrite(tmp_path, capsys):
    src = _src(tmp_path)
    assert _cli(src, tmp_path / "dst", "--seed", "1", "--workers", "1", "--no-progress") == 0
    report = json.loads((tmp_path / "dst" / "crappify_report.json").read_text())
    assert report["written"] == 3 and report["failed"] == []
    assert Image.open(tmp_path / "dst" / "0.jpg").size == (120, 96)
    assert _cli(src, tmp_path / "dst", "--seed", "1", "--no-progress") == 0
    assert "3 skipped" in capsys.readouterr().out


def test_cli_reports_failures_with_nonzero_exit(tmp_path, capsys):
    src = _src(tmp_path)
    (src / "bad.png").write_bytes(b"garbage")
    rc = _cli(src, tmp_path / "dst", "--mode", "superres", "--workers", "2", "--no-progress")
    assert rc == 1
    err = capsys.readouterr().err
    assert "FAILED bad.png" in err
    assert len(list((tmp_path / "dst").glob("*.jpg"))) == 3


def test_cli_bad_flags_exit_2(tmp_path, capsys):
    src = _src(tmp_path)
    assert _cli(src, src / "inside", "--no-progress") == 2
    assert "must not be SRC" in capsys.readouterr().err
    assert _cli(src, tmp_path / "d", "--quality", "90", "10", "--no-progress") == 2
    assert _cli(src, tmp_path / "d", "--mode", "real", "--size", "4", "--no-progress") == 2


def test_cli_seeded_runs_are_identical(tmp_path):
    src = _src(tmp_path)
    for d in ("a", "b"):
        assert _cli(src, tmp_path / d, "--seed", "3", "--mode", "real", "--no-progress") == 0
    for i in range(3):
        a = np.asarray(Image.open(tmp_path / "a" / f"{i}.jpg"))
        b = np.asarray(Image.open(tmp_path / "b" / f"{i}.jpg"))
        assert np.array_equal(a, b)
