"""`lesson7 report RUN_DIR... [--out FILE]`: where the page goes, what is refused, and no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from report.conftest import make_sample_run

from lesson7.cli import main


@pytest.fixture
def sample_run(tmp_path: Path) -> Path:
    return make_sample_run(tmp_path)


def test_one_run_defaults_to_its_folder(sample_run: Path, capsys) -> None:
    assert main(["report", str(sample_run)]) == 0
    out = sample_run / "report.html"
    assert capsys.readouterr().out.strip() == f"report: {out}"
    assert "<title>mnist stage</title>" in out.read_text()
    assert main(["report", str(sample_run)]) == 0  # our own page is not an input: rewritten


def test_several_runs_default_to_the_working_folder(sample_run: Path, tmp_path: Path, monkeypatch,
                                                    capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(sample_run), str(sample_run), "--title", "both"]) == 0
    assert capsys.readouterr().out.strip() == "report: report.html"
    page = (tmp_path / "report.html").read_text()
    assert "<title>both</title>" in page and page.count("<section class=run") == 2


def test_errors_are_one_line_and_exit_2(sample_run: Path, tmp_path: Path, capsys) -> None:
    (sample_run / "report.json").write_text('{"title": "t"}')
    assert main(["report", str(sample_run), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lesson7 report: error: {sample_run / 'report.json'}: report: missing field 'command'"
    assert not (tmp_path / "r.html").exists()
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_the_report_command_imports_no_torch(sample_run: Path, tmp_path: Path) -> None:
    code = ("import sys\nfrom lesson7.cli import main\n"
            f"assert main(['report', {str(sample_run)!r}, '--out', {str(tmp_path / 'r.html')!r}]) == 0\n"
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"
