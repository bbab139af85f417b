"""`lesson7 report RUN_DIR [RUN_DIR...] [--out FILE]`: one self-contained HTML page of runs."""

from __future__ import annotations

from lesson7.configs.report import ReportConfig
from lesson7.tasks import add_command


def register(subparsers) -> None:
    add_command(subparsers, "report", ReportConfig, run,
                "write one self-contained HTML page for run folders")


def run(cfg: ReportConfig) -> int:
    from lesson7.report import write_report

    path = write_report(cfg.runs, cfg.out, title=cfg.title)
    print(f"report: {path}")
    return 0
