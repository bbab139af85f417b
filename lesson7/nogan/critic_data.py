"""The critic's data (NoGAN step 3): generated vs real images, labelled 0 and 1, in memory.

Split by image name, augmented with flips and optional random crops (see `FolderPairs`).
Refs: lesson7-superres-gan.ipynb (the critic's ImageList of image_gen/ and images/).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lesson7.data.tensor_batches import BatchTransform, TensorBatches
from lesson7.nogan.preds import _load

Denorm = Callable[[Tensor], Tensor]


class FolderPairs:
    """(image, label) batches from {fake: 0, real: 1} folders, resized to `size`, in memory.

    The critic's data: label 1 for real (high-quality) images, 0 for generated ones.
    Split by name, not by file: an image's generated and real versions share a relative name
    (`save_preds` keeps it), and both go to the same side, so the validation accuracy is measured
    on images the critic never saw in either version. (The lesson splits files at random; a
    critic that memorises content then looks systematically wrong on validation, see
    benchmarks/README.md.)
    Training batches are augmented, as the lesson's `get_transforms(max_zoom=2.)` critic data
    was: each image is flipped left-right with p=0.5 and, with `crop`, cut to a random
    crop x crop window (no resampling, so the artifacts the critic looks for keep their scale;
    the patch critic takes any size, so it still judges full images in the GAN stage).
    """

    def __init__(self, fake_dir: Path, real_dir: Path, size: int, bs: int = 16,
                 valid_pct: float = 0.1, seed: int = 42, norm: Denorm | None = None,
                 native: bool = False, crop: int | None = None, flip: bool = True) -> None:
        from lesson7.data.items import get_image_files

        if crop is not None and not 1 <= crop <= size:
            raise ValueError(f"critic crop must be between 1 and the image size {size}, "
                             f"got {crop}")
        files = ([(f, 0, _name(f, fake_dir)) for f in get_image_files(fake_dir)]
                 + [(f, 1, _name(f, real_dir)) for f in get_image_files(real_dir)])
        names = sorted({name for _, _, name in files})
        rng = np.random.default_rng(seed)
        n_valid = int(round(valid_pct * len(names)))
        valid_names = {names[i] for i in rng.permutation(len(names))[:n_valid]}
        is_valid = torch.tensor([name in valid_names for _, _, name in files])
        norm = norm or (lambda t: t)
        x = norm(torch.stack([_load(f, size, native=native) for f, _, _ in files]))
        y = torch.tensor([label for _, label, _ in files])
        augment = flip_and_crop(crop, flip) if flip or crop is not None else None
        self.train_dl = TensorBatches(x[~is_valid], y[~is_valid], bs=bs, seed=seed,
                                      transform=augment)
        self.valid_dl = TensorBatches(x[is_valid], y[is_valid], bs=bs, seed=seed, shuffle=False)


def _name(path: Path, root: Path) -> str:
    return Path(path).relative_to(root).with_suffix("").as_posix()


def flip_and_crop(crop: int | None, flip: bool) -> BatchTransform:
    """The critic's training augmentation: a left-right flip with p=0.5 and, with `crop`, a random
    crop x crop window per image, drawn from the loader's seeded generator."""

    def augment(x: Tensor, g: torch.Generator) -> Tensor:  # x: (B, C, H, W)
        if flip:
            flipped = torch.rand(len(x), generator=g) < 0.5
            x = torch.where(flipped[:, None, None, None], x.flip(-1), x)
        if crop is not None:
            h, w = x.shape[-2:]
            tops = torch.randint(0, h - crop + 1, (len(x),), generator=g).tolist()
            lefts = torch.randint(0, w - crop + 1, (len(x),), generator=g).tolist()
            x = torch.stack([img[:, t:t + crop, l:l + crop]
                             for img, t, l in zip(x, tops, lefts, strict=True)])  # (B, C, crop, crop)
        return x

    return augment
