"""`lesson7 crappify SRC DST`: degraded copies of a folder of images (the lesson's crappify.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.flags import check_at_least, flag

CRAPPIFY_MODES = ("lesson", "superres", "real", "grey")
"""lesson: the lesson's crappifier; superres: its resize_one; real: Real-ESRGAN-like;
grey: the colour removed (DeOldify's colorization input)."""


@dataclass(kw_only=True)
class CrappifyConfig:
    """Crappify every image under SRC into DST (same relative paths)."""

    src: Path = flag(positional=True)
    """Folder of original images (never written to)."""
    dst: Path = flag(positional=True)
    """Output folder (same relative paths and names)."""
    mode: str = flag("lesson", choices=CRAPPIFY_MODES)
    """lesson: resize + random JPEG quality stamped as text; superres: resize + JPEG q60;
    real: blur/noise/resize/JPEG twice (Real-ESRGAN-like); grey: colour removed, size kept."""
    size: int | None = flag(None)
    """Short side of the output in px (default 96)."""
    quality: tuple[int, int] | None = flag(None, metavar=("LO", "HI"))
    """JPEG quality range, inclusive (default: lesson 10 70, superres 60 60, real 30 95)."""
    text: bool = flag(True)
    """Lesson mode: stamp the JPEG quality on the image (--no-text: don't)."""
    workers: int | None = flag(None)
    """Worker processes (default: all cores)."""
    seed: int | None = flag(None)
    """Make the output reproducible (per file, from the seed and the relative path)."""
    overwrite: bool = flag(False)
    """Redo files that already exist."""
    draft: bool = flag(True)
    """Decode JPEGs at reduced scale when the output is small (--no-draft: full size)."""
    progress: bool = flag(True)
    """Show a progress bar."""

    def __post_init__(self) -> None:
        self.src, self.dst = Path(self.src), Path(self.dst)
        if self.mode not in CRAPPIFY_MODES:
            raise ValueError(f"--mode must be one of {list(CRAPPIFY_MODES)}, got {self.mode!r}")
        check_at_least(1, workers=self.workers)
        check_at_least(8, size=self.size)  # px; smaller leaves nothing to restore
        if self.quality is not None:
            lo, hi = self.quality
            if not 1 <= lo <= hi <= 100:
                raise ValueError(f"--quality must be LO HI with 1 <= LO <= HI <= 100, got {lo} {hi}")
            self.quality = (lo, hi)
