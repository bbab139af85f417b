"""show_batch: a grid of (denormalised) training images with their labels, saved as a PNG.

Classification: ``rows x rows`` images titled with their class. Image targets: ``rows`` rows of
(input, target) pairs. Drawn on a ``matplotlib.figure.Figure`` with the Agg canvas, so nothing
touches pyplot's global state or needs a display.

Refs: fastai v1 ``DataBunch.show_batch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

if TYPE_CHECKING:
    from lesson7.data.loaders import DataBunch

__all__ = ["show_batch", "image_to_numpy"]


def image_to_numpy(img: Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (H, W) or (H, W, 3) array for ``imshow``."""
    arr = img.detach().float().clamp(0, 1).cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def _show(ax, img: Tensor, title: str | None = None) -> None:
    arr = image_to_numpy(img)
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title, fontsize=9)


def show_batch(data: DataBunch, rows: int = 3, path: Path | str | None = None,
               split: str = "train", figsize: float = 2.5) -> Path | Figure:
    """Plot the first batch of ``split``; save to ``path`` (PNG) and return it, else the Figure."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    xb, yb = data.one_batch(split)
    xb = data.denorm(xb)
    image_target = yb.dim() == 4
    if image_target and data.train_dl.do_y:
        yb = data.denorm(yb)
    n = min(len(xb), rows if image_target else rows * rows)
    n_rows, n_cols = (n, 2) if image_target else ((n + rows - 1) // rows, min(rows, n))
    fig = Figure(figsize=(figsize * n_cols, figsize * n_rows))
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).reshape(-1)
    for ax in axes:
        ax.set_axis_off()
    for i in range(n):
        if image_target:
            _show(axes[2 * i], xb[i], "input" if i == 0 else None)
            _show(axes[2 * i + 1], yb[i], "target" if i == 0 else None)
        else:
            label = int(yb[i])
            _show(axes[i], xb[i], data.classes[label] if data.classes else str(label))
    fig.tight_layout()
    if path is None:
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, format="png")
    tmp.replace(path)
    return path
