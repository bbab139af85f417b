"""`lesson7 ui [--port N] [--host 127.0.0.1]`: a local web page that restores a dropped photo.
Needs the `ui` extra: pip install 'lesson7[ui]'."""

from __future__ import annotations

import sys

from lesson7.configs.ui import UiConfig
from lesson7.tasks import add_command


def register(subparsers) -> None:
    add_command(subparsers, "ui", UiConfig, run,
                "a local web page: drop a photo, get it restored or colorized")


def run(cfg: UiConfig) -> int:
    from lesson7.ui.serve import MissingUIPackage, serve

    try:
        serve(cfg)
    except MissingUIPackage as e:  # an ImportError: cli.main reports ValueError/OSError only
        print(f"lesson7 ui: error: {e}", file=sys.stderr)
        return 2
    return 0
