"""Where pretrained weight files live: one lookup rule for every feature that needs a file.

A weights file such as ``vgg16_features.safetensors`` is found by name in, in order:

1. each folder listed in ``$LESSON7_WEIGHTS`` (separated by ``os.pathsep``, like ``PATH``);
2. the user data dir, ``$XDG_DATA_HOME/lesson7/weights`` (``~/.local/share/lesson7/weights``).

torchvision's ImageNet weights are looked up separately, in torch's hub cache
(``lesson7.models.encoders``); the files found here are the offline stand-ins for them.
Torch-free, so the CLI can import it cheaply. See ``docs/architecture.md`` and README "Data".
Refs: XDG Base Directory Specification (``XDG_DATA_HOME``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["WEIGHTS_ENV", "weights_dirs", "find_weights", "where_to_put"]

WEIGHTS_ENV = "LESSON7_WEIGHTS"


def _user_weights_dir() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home).expanduser() / "lesson7" / "weights"


def weights_dirs() -> list[Path]:
    """The folders searched for weights files, in order: ``$LESSON7_WEIGHTS``, the user data dir."""
    listed = os.environ.get(WEIGHTS_ENV, "").split(os.pathsep)
    return [Path(d).expanduser() for d in listed if d] + [_user_weights_dir()]


def find_weights(filename: str) -> Path | None:
    """The first ``<folder>/filename`` that is a file, over ``weights_dirs()``; None if none is."""
    for folder in weights_dirs():
        path = folder / filename
        if path.is_file():
            return path.resolve()
    return None


def where_to_put(filename: str) -> str:
    """A hint for error messages: where ``filename`` would be found."""
    return f"put {filename} in {_user_weights_dir()} or in a folder named by ${WEIGHTS_ENV}"
