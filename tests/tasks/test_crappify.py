"""`lesson7 crappify SRC DST` through `lesson7.cli.main`: exit codes, failure listing, report
file, determinism, and flag errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from lesson7.cli import main


def _cli(*argv) -> int:
    return main(["crappify", *map(str, argv)])


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
    before = (tmp_path / "dst" / "0.jpg").stat().st_mtime_ns
    assert _cli(src, tmp_path / "dst", "--seed", "2", "--workers", "1", "--overwrite",
                "--no-progress") == 0
    assert "3 written" in capsys.readouterr().out
    assert (tmp_path / "dst" / "0.jpg").stat().st_mtime_ns >= before


def test_cli_reports_failures_with_nonzero_exit(tmp_path, capsys):
    src = _src(tmp_path)
    (src / "bad.png").write_bytes(b"garbage")
    rc = _cli(src, tmp_path / "dst", "--mode", "superres", "--workers", "2", "--no-progress")
    assert rc == 1
    err = capsys.readouterr().err
    assert "FAILED bad.png" in err
    assert len(list((tmp_path / "dst").glob("*.jpg"))) == 3


def test_cli_dst_inside_src_is_refused(tmp_path, capsys):
    src = _src(tmp_path)
    assert _cli(src, src / "inside", "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lesson7 crappify: error: ") and "must not be SRC" in err
    assert not (src / "inside").exists()


@pytest.mark.parametrize("flags", [
    ["--quality", "90", "10"], ["--quality", "0", "50"], ["--size", "0"], ["--size", "7"], ["--workers", "0"],
    ["--seed", "nan"], ["--mode", "potato"], ["--size", "4", "--mode", "real"],
])
def test_cli_bad_flag_values_exit_2_naming_the_flag(tmp_path, flags, capsys):
    src = _src(tmp_path)
    with pytest.raises(SystemExit) as e:
        _cli(src, tmp_path / "d", *flags, "--no-progress")
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("lesson7 crappify: error: ") and flags[0] in last
    assert not (tmp_path / "d").exists()


def test_cli_seeded_runs_are_identical(tmp_path):
    src = _src(tmp_path)
    for d in ("a", "b"):
        assert _cli(src, tmp_path / d, "--seed", "3", "--mode", "real", "--no-progress") == 0
    for i in range(3):
        a = np.asarray(Image.open(tmp_path / "a" / f"{i}.jpg"))
        b = np.asarray(Image.open(tmp_path / "b" / f"{i}.jpg"))
        assert np.array_equal(a, b)
