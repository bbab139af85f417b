"""Fields every training pipeline shares: where the run folder goes, the device, the seed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.flags import check_device, flag


@dataclass(kw_only=True)
class RunConfig:
    """A pipeline that writes a run folder."""

    out: Path = flag(Path("runs/run"))
    """Run folder: config, metrics, plots, checkpoints."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""
    seed: int = flag(42)
    """Random seed."""

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        check_device(self.device)


def input_paths(paths: str | Path | list, what: str) -> list[Path]:
    """The positional inputs of a predict-style command as a list of paths; none is an error
    ("give at least one {what}")."""
    out = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    if not out:
        raise ValueError(f"give at least one {what}")
    return out
