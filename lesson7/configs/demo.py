"""`lesson7 demo`: the lesson end to end on small offline data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig
from lesson7.configs.flags import flag

STAGE_NAMES = ("mnist", "numbers", "restore", "colorize", "gan", "wgan")
STAGES = STAGE_NAMES


@dataclass(kw_only=True)
class DemoConfig(RunConfig):
    """Run the demo's stages in order, each into a folder of OUT, then write OUT/report.html."""

    only: list[str] | None = flag(None, choices=STAGE_NAMES)
    """Run only these stages (default: all)."""
    quick: bool = flag(False)
    """Fewer epochs everywhere (about 2 minutes on 2 CPU cores instead of about 10): a smoke run."""
    out: Path = flag(Path("runs/demo"))
    """Run folder: one sub-folder per stage (each with report.json), summary.json, report.html."""

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(set(self.only or ()) - set(STAGE_NAMES))
        if unknown:
            raise ValueError(f"--only: unknown stage(s) {unknown}; choose from {list(STAGE_NAMES)}")
