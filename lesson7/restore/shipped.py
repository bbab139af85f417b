"""The restorers that ship inside the package: `lesson7 restore predict photo.jpg` uses them.

`lesson7/assets/restorer_x4.safetensors` + `.json`: fp16 weights and the `Restorer` metadata
of a x4 photo restorer; `restorer_x1.*`: a same-size restorer (blur, noise, JPEG removed, the
size kept), 12x smaller and run on the photo folded 2 x 2 into channels, so a 12-megapixel
photo takes seconds instead of minutes (`scripts/train_shipped_restorer.py` makes both; their
model cards say how). `shipped_model_path(scale)` picks the x1 model for --scale 1 (or below)
and the x4 one otherwise. The environment variable `LESSON7_SHIPPED_MODEL` points elsewhere
(one checkpoint path, used at every scale), e.g. in tests or for a model installed outside the
package. Torch-free.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

__all__ = ["SHIPPED_MODEL_ENV", "SHIPPED_MODEL_NAME", "SHIPPED_X1_NAME", "shipped_model_path"]

SHIPPED_MODEL_ENV = "LESSON7_SHIPPED_MODEL"
SHIPPED_MODEL_NAME = "restorer_x4.safetensors"
SHIPPED_X1_NAME = "restorer_x1.safetensors"


def shipped_model_path(scale: float | None = None) -> Path:
    """The shipped model's .safetensors file for restoring at `scale` (None: the model's own,
    x4); a ValueError naming the file when it is missing."""
    override = os.environ.get(SHIPPED_MODEL_ENV, "").strip()
    name = SHIPPED_X1_NAME if scale is not None and scale <= 1 else SHIPPED_MODEL_NAME
    path = Path(override) if override else Path(str(files("lesson7") / "assets" / name))
    if not path.is_file():
        where = f" (from ${SHIPPED_MODEL_ENV})" if override else ""
        raise ValueError(f"the shipped restore model {path}{where} is missing; "
                         f"reinstall lesson7, or name a run folder first: "
                         f"lesson7 restore predict RUN IMAGES... --out DIR")
    return path
