"""NoGAN step 2: the pretrained generator's predictions, saved as the critic's "fake" images.

`save_preds(generator, items, dest)` runs the generator over the training inputs and writes each
prediction under the same relative name (the lesson's `image_gen/` folder), streaming batch by
batch, never holding the whole set in memory; finished files are skipped, so a rerun resumes.
Refs: lesson7-superres-gan.ipynb (`save_preds`); DeOldify's NoGAN,
https://www.fast.ai/posts/2019-05-03-decrappify.html.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor, nn
from tqdm.auto import tqdm

Denorm = Callable[[Tensor], Tensor]


def _load(path: Path, size: int | None, convert_mode: str = "RGB",
          native: bool = False) -> Tensor:
    """(C, size, size) in [0, 1]: short side resized to `size`, then a centre crop.

    The same geometry as the restoration data's validation transform (resize to cover, centre
    crop), so generated and real images keep their aspect ratio and the critic compares like
    with like. `native`: crop at the file's own resolution instead (the bicubic SR track trains
    on native-resolution crops; resizing would wash its blur out); smaller images are enlarged.
    """
    from lesson7.data.images import open_image
    from lesson7.data.resize import cover_crop

    img = open_image(path, convert_mode)                                   # (C, H, W) in [0, 1]
    return img if size is None else cover_crop(img, size, shrink=not native)  # (C, size, size)


def _save_png(img: Tensor, dest: Path) -> None:  # img: (C, H, W) in [0, 1]
    from lesson7.files import atomic_path

    arr = (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    with atomic_path(dest) as tmp:  # a crash never leaves a half-written prediction behind
        Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(tmp, "PNG")


def pred_path(item: Path, src_root: Path, dest_root: Path) -> Path:
    """Where `save_preds` writes the prediction for `item`: same relative name, as PNG."""
    return (dest_root / Path(item).relative_to(src_root)).with_suffix(".png")


@torch.no_grad()
def save_preds(generator: nn.Module, items: Sequence[Path], src_root: Path, dest_root: Path,
               bs: int = 16, size: int | None = None, norm: Denorm | None = None,
               denorm: Denorm | None = None, device: str | torch.device = "cpu",
               progress: bool = True, overwrite: bool = False, native: bool = False) -> int:
    """Write generator(item) for every item to dest_root/<item relative to src_root> (as PNG).

    `norm` maps [0, 1] images to the generator's input space and `denorm` its output back.
    Streams: one batch in memory at a time. Items whose prediction already exists are skipped
    unless `overwrite` (each PNG is written atomically), so an interrupted run resumes.
    `native`: centre crops at the file's resolution instead of resizing (see `_load`).
    Returns the number of images written.
    """
    generator = generator.eval().to(device)
    norm = norm or (lambda t: t)
    denorm = denorm or (lambda t: t)
    todo = [p for p in items if overwrite or not pred_path(p, src_root, dest_root).is_file()]
    written = 0
    for batch in tqdm(_chunks(todo, bs), total=-(-len(todo) // bs), disable=not progress,
                      desc="save_preds"):
        x = torch.stack([_load(p, size, native=native) for p in batch])   # (B, C, S, S)
        out = denorm(generator(norm(x).to(device)).float().cpu())          # (B, C, S, S)
        for p, img in zip(batch, out, strict=True):
            _save_png(img, pred_path(p, src_root, dest_root))
            written += 1
    return written


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
