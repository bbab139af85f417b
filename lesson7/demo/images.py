"""Image files for the demo's galleries: PIL saves, side-by-side rows, digit grids with titles.

Every file goes through `lesson7.files.atomic_path` (no half-written PNG after a kill).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from lesson7.files import atomic_path

__all__ = ["save_png", "side_by_side", "titled_grid"]


def save_png(img: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return path


def side_by_side(images: Sequence[Image.Image], labels: Sequence[str], height: int = 256,
                 pad: int = 4) -> Image.Image:
    """Images scaled (nearest: pixels stay visible) to one height, in a row, each labelled."""
    scaled = [im.convert("RGB").resize((max(1, round(im.width * height / im.height)), height),
                                       Image.Resampling.NEAREST) for im in images]
    label_h = 16
    out = Image.new("RGB", (sum(s.width for s in scaled) + pad * (len(scaled) + 1),
                            height + label_h + 2 * pad), "white")
    draw = ImageDraw.Draw(out)
    x = pad
    for im, label in zip(scaled, labels, strict=True):
        out.paste(im, (x, pad + label_h))
        draw.text((x + 2, pad), label, fill="black")
        x += im.width + pad
    return out


def titled_grid(images: Sequence, titles: Sequence[str], cols: int, path: Path,
                colors: Sequence[str] | None = None, cell: float = 1.4) -> Path:
    """A matplotlib grid of greyscale images (2-D arrays) with a title each (the lesson's
    show_batch / plot_top_losses look), saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = -(-len(images) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell, rows * cell * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray")
            ax.set_title(titles[i], fontsize=7, color=(colors[i] if colors else "black"))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
