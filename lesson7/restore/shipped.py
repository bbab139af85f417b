"""The restorer that ships inside the package: `lesson7 restore predict photo.jpg` uses it.

`lesson7/assets/restorer_x4.safetensors` + `.json`: fp16 weights and the `Restorer` metadata
of a x4 photo restorer (`scripts/train_shipped_restorer.py` makes it; its model card says how).
The environment variable `LESSON7_SHIPPED_MODEL` points elsewhere (a checkpoint path), e.g. in
tests or for a model installed outside the package. Torch-free.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

__all__ = ["SHIPPED_MODEL_ENV", "SHIPPED_MODEL_NAME", "shipped_model_path"]

SHIPPED_MODEL_ENV = "LESSON7_SHIPPED_MODEL"
SHIPPED_MODEL_NAME = "restorer_x4.safetensors"


def shipped_model_path() -> Path:
    """The shipped model's .safetensors file; a ValueError naming the file when it is missing."""
    override = os.environ.get(SHIPPED_MODEL_ENV, "").strip()
    path = Path(override) if override else Path(str(files("lesson7") / "assets" / SHIPPED_MODEL_NAME))
    if not path.is_file():
        where = f" (from ${SHIPPED_MODEL_ENV})" if override else ""
        raise ValueError(f"the shipped restore model {path}{where} is missing; "
                         f"reinstall lesson7, or name a run folder first: "
                         f"lesson7 restore predict RUN IMAGES... --out DIR")
    return path
