"""`lesson7 demo`: the lesson end to end on small offline data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig
from lesson7.configs.flags import flag

STAGES = ("mnist", "numbers", "restore", "gan", "wgan")


@dataclass(kw_only=True)
class DemoConfig(RunConfig):
    """Run the demo's stages in order, each into a folder of OUT."""

    only: list[str] | None = flag(None, choices=STAGES)
    """Run only these stages (default: all)."""
    out: Path = flag(Path("runs/demo"))
    """Run folder: one sub-folder per stage and summary.json."""

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(set(self.only or ()) - set(STAGES))
        if unknown:
            raise ValueError(f"--only: unknown stage(s) {unknown}; choose from {list(STAGES)}")
