"""The NoGAN chain (DeOldify): pretrained generator -> saved predictions -> pretrained critic ->
a short GAN fine-tune.

Scope: the two middle stages as functions, plus the critic's data.
- `save_preds(generator, items, dest)`: run the pretrained generator over the training images and
  write each prediction under the same relative name (the lesson's `image_gen/`), streaming batch
  by batch with a progress bar, never holding the whole set in memory.
- `pretrain_critic(...)`: train `gan_critic` on {generated, real} folders with
  AdaptiveLoss(BCE) and accuracy_thresh_expand (lesson: 6 epochs at 1e-3, 0.976 at 128 px).
The GAN stage is `GANLearner.from_learners` (`lesson7.gan.learner`).
Refs: REFERENCE §2.3 and §5 (DeOldify NoGAN); https://www.fast.ai/posts/2019-05-03-decrappify.html.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from tqdm.auto import tqdm

from lesson7.losses.gan import AdaptiveLoss, accuracy_thresh_expand
from lesson7.models.critic import gan_critic, min_input_size
from lesson7.train.learner import Learner

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

    img = open_image(path, convert_mode)                                   # (C, H, W) in [0, 1]
    if size is None or img.shape[-2:] == (size, size):
        return img
    h, w = img.shape[-2:]
    scale = max(size / min(h, w), 1.0) if native else size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    img = torch.nn.functional.interpolate(img[None], size=(nh, nw), mode="bilinear",
                                          antialias=True, align_corners=False)[0]  # (C, nh, nw)
    top, left = (nh - size) // 2, (nw - size) // 2
    return img[:, top:top + size, left:left + size]                        # (C, size, size)


def _save_png(img: Tensor, dest: Path) -> None:  # img: (C, H, W) in [0, 1]
    from lesson7.train.checkpoint import atomic_path

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
        self.train_dl = _Batches(x[~is_valid], y[~is_valid], bs, seed, crop=crop, flip=flip)
        self.valid_dl = _Batches(x[is_valid], y[is_valid], bs, seed, shuffle=False)


def check_critic_crop(crop: int | None, size: int, n_blocks: int, flag: str) -> None:
    """A crop must fit in the image and still leave the critic's head a >= 4x4 map."""
    if crop is None:
        return
    smallest = min_input_size(n_blocks)
    if not smallest <= crop <= size:
        raise ValueError(f"{flag} must be between {smallest} (for {n_blocks} critic blocks) and "
                         f"the image size {size}, got {crop}")


def _name(path: Path, root: Path) -> str:
    return Path(path).relative_to(root).with_suffix("").as_posix()


class _Batches:
    def __init__(self, x: Tensor, y: Tensor, bs: int, seed: int, shuffle: bool = True,
                 crop: int | None = None, flip: bool = False) -> None:
        self.x, self.y, self.bs, self.seed, self.shuffle, self.epoch = x, y, bs, seed, shuffle, 0
        self.crop, self.flip = crop, flip

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.x) // self.bs)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self.x)
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        for i in range(0, len(self.x), self.bs):
            idx = order[i:i + self.bs]
            yield self._augment(self.x[idx], g), self.y[idx]

    def _augment(self, x: Tensor, g: torch.Generator) -> Tensor:  # x: (B, C, H, W)
        if self.flip:
            flip = torch.rand(len(x), generator=g) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if self.crop is not None:
            c, (h, w) = self.crop, x.shape[-2:]
            tops = torch.randint(0, h - c + 1, (len(x),), generator=g).tolist()
            lefts = torch.randint(0, w - c + 1, (len(x),), generator=g).tolist()
            x = torch.stack([img[:, t:t + c, l:l + c]
                             for img, t, l in zip(x, tops, lefts, strict=True)])  # (B, C, c, c)
        return x


def critic_learner(data, n_channels: int = 3, nf: int = 128, n_blocks: int = 3,
                   path: str | Path = "runs/critic", device: str = "auto", **kwargs) -> Learner:
    """The lesson's critic learner: gan_critic, AdaptiveLoss(BCE), accuracy_thresh_expand,
    wd 1e-3."""
    return Learner(gan_critic(n_channels, nf, n_blocks), data, AdaptiveLoss(nn.BCEWithLogitsLoss()),
                   metrics=[accuracy_thresh_expand], wd=1e-3, path=path, device=device, **kwargs)


def pretrain_critic(learn: Learner, epochs: int = 6, lr: float = 1e-3) -> list[float]:
    """fit_one_cycle(epochs, lr) as in the lesson; returns accuracy_thresh_expand per epoch."""
    learn.fit_one_cycle(epochs, lr)
    return [row["accuracy_thresh_expand"] for row in learn.recorder.history[-epochs:]]
