"""The command line: one module per `lesson7` subcommand, each only flags -> config -> one call.

Every subcommand is made by `add_command(subparsers, name, Config, run)`: the flags come from the
config dataclass (`lesson7.configs.flags`), `cli.main` builds the config (a bad value exits 2
with argparse's one-line `error:`) and calls `run(config)`, which imports the library function
it needs only then, so `lesson7 X --help` never imports torch. Library code never imports
this package (a test checks).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from lesson7.configs.flags import add_flags

__all__ = ["add_command", "print_report"]


def add_command(subparsers: Any, name: str, config_cls: type, run: Callable[[Any], int],
                help: str, prog_name: str | None = None) -> argparse.ArgumentParser:
    """A subcommand whose flags are the fields of `config_cls` and whose action is `run(cfg)`."""
    parser = subparsers.add_parser(name, help=help, description=inspect.getdoc(config_cls),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(parser, config_cls)
    parser.set_defaults(_run=run, _parser=parser, _command=prog_name or name)
    return parser


def print_report(run_dir: os.PathLike | str) -> None:
    """Write RUN/report.html (`lesson7 report`) and print `report: PATH`, as every long command
    does when it ends. The run itself has finished by then, so a page that cannot be made is
    reported on stderr with its reason, not turned into a failed command. Under torchrun only
    rank 0 writes it (RANK is set by torchrun)."""
    from pathlib import Path

    from lesson7.report import write_report

    if os.environ.get("RANK", "0") != "0":
        return
    try:
        path = write_report([run_dir], Path(run_dir) / "report.html")
    except (ValueError, OSError) as e:
        print(f"report: not written ({e})", file=sys.stderr)
        return
    print(f"report: {path}")
