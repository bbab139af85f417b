"""The degradation registry: each name a restoration model can learn to undo.

One table for every place that turns a clean image into a model input — `lesson7 crappify`,
`restore train --crappify/--degrade`, `restore eval`, and the NoGAN chain:

- crappifiers (`lesson`, `superres`, `real`): JPEG, text, noise at a smaller size; the input is
  resized back to the target's size, so the model's scale is 1.
- `grey`: the colour removed, size kept (DeOldify's colorization input: PIL
  `convert('LA').convert('RGB')`, i.e. BT.601 luma in all three channels); stored losslessly.
- bicubic SR tracks (`bicubic-x2/x3/x4`): bicubic down and up by `scale` (the SR literature's
  degradation; Dong et al. 2014, SRCNN); `scale` border pixels are shaved before scoring.

Torch-free and PIL-free, so the configs can check names; `make_degrader(name)` builds the
callable (imported on demand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Degradation", "DEGRADATIONS", "CRAPPIFIERS_NAMES", "BICUBIC_NAMES", "degradation",
           "make_degrader"]


@dataclass(frozen=True)
class Degradation:
    """How a model input is made from a clean image."""

    name: str
    kind: str
    """"crappify" (lesson7.data.crappify) or "bicubic" (lesson7.data.pairs)."""
    scale: int = 1
    """Bicubic tracks: the down/up-scaling factor (the model's input is upsampled by it)."""
    lossless: bool = False
    """Inputs are stored as PNG (nothing but the degradation itself may damage them)."""


DEGRADATIONS: dict[str, Degradation] = {
    d.name: d for d in (
        Degradation("lesson", "crappify"),
        Degradation("superres", "crappify"),
        Degradation("real", "crappify"),
        Degradation("grey", "crappify", lossless=True),
        Degradation("bicubic-x2", "bicubic", 2, lossless=True),
        Degradation("bicubic-x3", "bicubic", 3, lossless=True),
        Degradation("bicubic-x4", "bicubic", 4, lossless=True),
    )
}
CRAPPIFIERS_NAMES = tuple(n for n, d in DEGRADATIONS.items() if d.kind == "crappify")
BICUBIC_NAMES = tuple(n for n, d in DEGRADATIONS.items() if d.kind == "bicubic")


def degradation(name: str, flag: str = "--degrade") -> Degradation:
    """The registry entry for `name`; a ValueError naming `flag` if there is none."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown {flag} {name!r}; choose from {list(DEGRADATIONS)}")
    return DEGRADATIONS[name]


def make_degrader(name: str, **kwargs: Any) -> Any:
    """The picklable callable `(img, rng) -> img | (img, jpeg_quality)` for `name`."""
    d = degradation(name)
    if d.kind == "bicubic":
        from lesson7.data.pairs import BicubicDegrader

        return BicubicDegrader(d.scale)
    from lesson7.data.crappify import make_crappifier

    return make_crappifier(name, **kwargs)
