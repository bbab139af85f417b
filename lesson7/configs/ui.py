"""`lesson7 ui`: a local web page that restores (or colorizes) a dropped photo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.flags import check_at_least, check_device, check_positive, flag
from lesson7.configs.restore import check_tiles


@dataclass(kw_only=True)
class UiConfig:
    """Serve a web page where you drop a photo and get it back restored or colorized.

    Open the printed address in a browser: drop (or choose) a photo, pick the task, and watch it
    queue and work; the result comes with a before/after slider and a download button. It is
    the same image `lesson7 restore predict PHOTO --out DIR` (`--scale 1` for "clean", the
    shipped same-size restorer offered without --model; `lesson7 colorize PHOTO --out DIR
    --force` for colorize) writes. Colorize is offered when a colorizer is installed with lesson7 or
    named by --colorize-model. One photo is processed at a time; others wait in a queue
    (--max-queue). Uploads larger than --max-upload-mb or with more than --max-megapixels
    pixels are refused with a message, before anything is decoded. Uploads and results live
    in a temporary folder, deleted when the server stops. Serves on 127.0.0.1 (this computer
    only) unless --host says otherwise.
    Needs the `ui` extra: pip install 'lesson7[ui]'.
    """

    host: str = flag("127.0.0.1")
    """Address to listen on; 127.0.0.1 is this computer only, 0.0.0.0 the whole network."""
    port: int = flag(8765)
    """TCP port to listen on."""
    model: Path | None = flag(None)
    """Restore model: a run folder of `restore train` or a .safetensors (default: the shipped one)."""
    colorize_model: Path | None = flag(None)
    """Colorizer: a run folder of `colorize train` or a .safetensors (default: the shipped one,
    when this installation has one)."""
    max_upload_mb: float = flag(20.0)
    """Largest upload accepted, in megabytes."""
    max_megapixels: float = flag(2.0)
    """Largest photo accepted, in millions of pixels (a x4 restore gives 16 times as many)."""
    max_queue: int = flag(8)
    """Photos that may wait for the model at once; more are refused until one finishes."""
    keep_results: int = flag(20)
    """Finished results kept for download; older ones are deleted."""
    tile: int = flag(512)
    """Tile size in px (of the model's input), as `restore predict --tile`."""
    overlap: int = flag(32)
    """Tile overlap in px (blended), as `restore predict --overlap`."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""

    def __post_init__(self) -> None:
        self.host = str(self.host).strip()
        if not self.host:
            raise ValueError("--host must not be empty (127.0.0.1 serves this computer only)")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"--port must be between 1 and 65535, got {self.port}")
        self.model = None if self.model is None else Path(self.model)
        self.colorize_model = None if self.colorize_model is None else Path(self.colorize_model)
        check_positive(max_upload_mb=self.max_upload_mb, max_megapixels=self.max_megapixels)
        check_at_least(1, max_queue=self.max_queue, keep_results=self.keep_results)
        check_tiles(self.tile, self.overlap)
        check_device(self.device)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1e6)
