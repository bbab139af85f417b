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
from collections.abc import Callable
from typing import Any

from lesson7.configs.flags import add_flags

__all__ = ["add_command"]


def add_command(subparsers: Any, name: str, config_cls: type, run: Callable[[Any], int],
                help: str, prog_name: str | None = None) -> argparse.ArgumentParser:
    """A subcommand whose flags are the fields of `config_cls` and whose action is `run(cfg)`."""
    parser = subparsers.add_parser(name, help=help, description=inspect.getdoc(config_cls),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(parser, config_cls)
    parser.set_defaults(_run=run, _parser=parser, _command=prog_name or name)
    return parser
