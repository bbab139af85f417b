"""The colorizer that ships inside the package: `lesson7 colorize photo.jpg --out DIR` uses it.

`lesson7/assets/colorizer.safetensors` + `.json` (+ its model card `.md`): fp16 weights and the
`ColorizerConfig` of the trained colorizer (`scripts/train_shipped_colorizer.py` makes it). The
environment variable `LESSON7_SHIPPED_COLORIZER` points elsewhere (a checkpoint path), e.g. in
tests or for a colorizer installed outside the package. Torch-free.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

__all__ = ["SHIPPED_COLORIZER_ENV", "SHIPPED_COLORIZER_NAME", "shipped_colorizer_path"]

SHIPPED_COLORIZER_ENV = "LESSON7_SHIPPED_COLORIZER"
SHIPPED_COLORIZER_NAME = "colorizer.safetensors"


def shipped_colorizer_path() -> Path:
    """The shipped colorizer's .safetensors file; a ValueError saying what to do when this
    installation has none."""
    override = os.environ.get(SHIPPED_COLORIZER_ENV, "").strip()
    path = Path(override) if override else Path(str(files("lesson7") / "assets"
                                                     / SHIPPED_COLORIZER_NAME))
    if not path.is_file() or not path.with_suffix(".json").is_file():
        where = f" (from ${SHIPPED_COLORIZER_ENV})" if override else ""
        raise ValueError(f"no shipped colorizer is installed: {path}{where} (and its .json) is "
                         f"missing; train one (lesson7 colorize train --hr PHOTOS --out RUN, or "
                         f"scripts/train_shipped_colorizer.py) and pass --model RUN")
    return path
