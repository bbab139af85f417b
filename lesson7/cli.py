"""`lesson7 <subcommand>`: one argparse sub-parser per pipeline, each in `lesson7/tasks/`.

Each task module exposes `register(subparsers)`, which adds its parser and sets `func=run`.
A task that is missing (not written yet) or fails to import does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

TASKS = ("demo", "mnist", "crappify", "restore", "gan", "wgan", "numbers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lesson7",
        description="fastai course-v3 Lesson 7 (ResNet, U-Net, GAN, RNN) in modern PyTorch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in TASKS:
        if importlib.util.find_spec(f"lesson7.tasks.{name}") is None:
            continue  # not written yet; the other subcommands still work
        importlib.import_module(f"lesson7.tasks.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, OSError) as e:
        # User mistakes and missing files: a one-line message naming the problem, no traceback.
        print(f"lesson7 {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lesson7 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
