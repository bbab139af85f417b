"""`lesson7 report`: run folders -> one self-contained HTML page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.flags import flag


@dataclass(kw_only=True)
class ReportConfig:
    """Write one self-contained HTML page (images inlined, no network) for one or more run
    folders of any lesson7 command: per run, what it does and which lesson notebook it mirrors,
    our figures beside the lesson's, loss/metric curves, image galleries, wall time and device.
    A folder's report.json is used when it has one; otherwise the page is built from the files
    its command wrote (config.json, metrics.json, PNGs). Sub-folders that are runs (the demo's
    stages, the NoGAN chain's steps) get sections too."""

    runs: list[Path] = flag(positional=True, metavar="RUN_DIR")
    """Run folders (written by lesson7 commands)."""
    out: Path | None = flag(None)
    """The HTML file to write (default: RUN_DIR/report.html for one folder, else ./report.html)."""
    title: str | None = flag(None)
    """Page title (default: the run's title, or "lesson7 report" for several)."""

    def __post_init__(self) -> None:
        self.runs = [Path(p) for p in ([self.runs] if isinstance(self.runs, (str, Path)) else self.runs)]
        if not self.runs:
            raise ValueError("give at least one run folder")
        if self.out is None:
            self.out = self.runs[0] / "report.html" if len(self.runs) == 1 else Path("report.html")
        self.out = Path(self.out)
        if self.out.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"--out must be an .html file, got {str(self.out)!r}")
