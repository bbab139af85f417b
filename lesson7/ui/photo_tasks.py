"""What the web page can do to a photo: a small registry of `PhotoTask`s (restore, colorize...).

A task decodes the upload as its model wants (`mode`), says how large its result will be, and
writes that result as a PNG while reporting progress. The web layer knows nothing else about
models, so another model plugs in as one more `PhotoTask` (a function like `restore_task`).
Each runs exactly the steps of its command, so the page's result and the CLI's are the same
file: `restore_task` those of `lesson7 restore predict` (`restore.predict.restore_file`:
`Restorer.restore_rows` streamed into `png_writer.write_png`), `colorize_task` those of
`lesson7 colorize --force` (`colorize.predict.colorize_file`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from lesson7.colorize.colorizer import Colorizer
    from lesson7.restore.restorer import Restorer

__all__ = ["Progress", "PhotoTask", "restore_task", "colorize_task", "rows_with_progress"]

Progress = Callable[[float], None]
"""Called with the fraction done, 0 to 1; it may raise to stop the work (server shutdown)."""


@dataclass(frozen=True)
class PhotoTask:
    """One thing the page offers: its name in the API, its label and a sentence for people."""

    name: str
    label: str
    description: str
    mode: str
    """PIL mode the upload is decoded to ("RGB" or "L")."""
    output_size: Callable[[tuple[int, int]], tuple[int, int]]
    """(width, height) of the upload -> (width, height) of the result."""
    run: Callable[[Image.Image, Path, Progress], str | None]
    """Decoded upload, PNG path to write, progress callback -> a note for the person, or None."""


def rows_with_progress(rows: Iterator[np.ndarray], height: int,
                       progress: Progress) -> Iterator[np.ndarray]:
    """Pass row blocks through, reporting the fraction of `height` rows done after each."""
    done = 0
    progress(0.0)
    for block in rows:
        yield block
        done += block.shape[0]
        progress(min(done / height, 1.0))


def restore_task(restorer: Restorer, tile: int = 512, overlap: int = 32,
                 name: str = "restore") -> PhotoTask:
    """The restorer as a page task: the same steps, tiles and PNG as `lesson7 restore predict`
    (at the model's own scale: x4, or x1 for the same-size restorer, offered as "clean")."""
    from lesson7.restore.png_writer import write_png

    scale = restorer.default_scale

    def run(img: Image.Image, dest: Path, progress: Progress) -> None:
        size = restorer.output_size(img.size)
        rows = restorer.restore_rows(img, None, tile, overlap)
        write_png(dest, size, rows_with_progress(rows, size[1], progress))

    what = (f"enlarges the photo {scale:g} times" if scale != 1 else
            "keeps the photo's size (fast, for large photos)")
    return PhotoTask(
        name=name, label=f"Restore (x{scale:g})",
        description=f"Removes blur, noise and JPEG blocks and {what} (the lesson's U-Net restorer).",
        mode=restorer.mode, output_size=restorer.output_size, run=run)


def colorize_task(colorizer: Colorizer, render_size: int | None = None) -> PhotoTask:
    """The colorizer as a page task: the steps of `lesson7 colorize --force`. A photo that
    already has colour is made grey and coloured again, and the note says so (the CLI skips
    such photos unless --force; on a page, seeing what the model does with it is the point)."""
    from lesson7.colorize.predict import COLOUR_SPREAD, colour_spread
    from lesson7.restore.png_writer import write_png

    def run(img: Image.Image, dest: Path, progress: Progress) -> str | None:
        spread = colour_spread(img)
        rows = colorizer.colorize_rows(img, render_size)  # the model runs here, then rows stream
        write_png(dest, img.size, rows_with_progress(rows, img.height, progress))
        if spread > COLOUR_SPREAD:
            return ("this photo already had colour: it was made grey and coloured again "
                    "(as lesson7 colorize --force)")
        return None

    return PhotoTask(
        name="colorize", label="Colorize",
        description=("Colours a black-and-white photo, keeping its own brightness and detail "
                     "(a U-Net that predicts colour only, DeOldify's recipe)."),
        mode="RGB", output_size=lambda size: size, run=run)
