"""Batch data augmentation, vectorised on the batch's device, with the same draws for x and y.

Scope: the transforms the lesson uses with fastai v1 ``get_transforms()`` semantics
(``fastai/vision/transform.py``) and ``rand_pad``, applied to a whole float batch (B, C, H, W)
in [0, 1]. Random parameters are drawn on the CPU from a ``torch.Generator`` (reproducible on
any device) and moved to the batch's device. The transform classes and the item-level "crop to
``size``" helpers live in ``lesson7.data.augment``; this module is the pipeline that applies
them (``BatchTransforms``) and the lesson's factories (``rand_pad``, ``get_transforms``, ...).

A pipeline runs in a fixed order, whatever the list order (as fastai sorts by ``order``):
  pad -> geometry (flip / dihedral / rotate / zoom / symmetric warp: ONE affine_grid + ONE
  grid_sample per batch) -> random crop -> lighting (brightness, contrast in logit space).
``CropPad`` (``crop_pad()`` / ``rand_crop()``) only tells the loader how to bring items to
``size`` (centre or random crop); it is a no-op inside the pipeline.

With ``tfm_y=True`` an image target gets exactly the same draws as x: same pad/crop offsets,
same sampling grid, same lighting. Lighting is applied to y too (like fastai v1, where
transforms default to ``use_on_y=True``), so x and y stay pixel-aligned in value as well.

Deliberate differences from fastai v1:
- ``rotate`` corrects for the aspect ratio (fastai rotates in normalised coordinates, which
  shears non-square images); for square images the two agree.
- ``rand_pad``'s padding mode defaults to ``"zeros"`` (the lesson's choice; fastai: reflection).

Refs: fastai v1 ``vision/transform.py`` (``_rotate``, ``_zoom``, ``_symmetric_warp``,
``_find_coeffs``, ``_brightness``, ``_contrast``, ``get_transforms``); fastai v2 ``aug_transforms``
(affine ops fused into one resample).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from lesson7.data.augment import (
    Brightness,
    Contrast,
    CropPad,
    Dihedral,
    Draw,
    FlipLR,
    Pad,
    RandomCrop,
    Rotate,
    Size,
    SymmetricWarp,
    Transform,
    Zoom,
    crop_batch,
    eye_batch,
)

__all__ = [
    "BatchTransforms",
    "crop_pad", "rand_crop", "rand_pad", "flip_lr", "dihedral", "rotate", "rand_zoom",
    "symmetric_warp", "brightness", "contrast", "get_transforms",
]

# --- the pipeline -----------------------------------------------------------------------------


class BatchTransforms:
    """Apply a list of transforms to a batch (and, with ``tfm_y``, the same draws to y)."""

    def __init__(self, tfms: Sequence[Transform] = (), tfm_y: bool = False,
                 padding_mode: str = "reflection"):
        if padding_mode not in ("zeros", "border", "reflection"):
            raise ValueError(f"padding_mode must be 'zeros', 'border' or 'reflection', "
                             f"got {padding_mode!r}")
        flat: list[Transform] = []
        for t in tfms:
            flat.extend(t if isinstance(t, (list, tuple)) else [t])
        for t in flat:
            if not isinstance(t, Transform):
                raise ValueError(f"not a lesson7 transform: {t!r}")
        self.tfms, self.tfm_y, self.padding_mode = flat, tfm_y, padding_mode
        self.size_tfm = next((t for t in flat if t.stage == "size"), None)
        self.random_size_crop = bool(self.size_tfm is not None and self.size_tfm.random)

    def __repr__(self) -> str:
        return f"BatchTransforms({self.tfms!r}, tfm_y={self.tfm_y})"

    def _of(self, stage: str) -> list[Transform]:
        return [t for t in self.tfms if t.stage == stage]

    def __call__(self, x: Tensor, y: Tensor | None = None,
                 gen: torch.Generator | None = None) -> tuple[Tensor, Tensor | None]:
        """x: float (B, C, H, W) in [0, 1]; y: labels, or an image batch used when ``tfm_y``."""
        ys = [y] if self.tfm_y and y is not None and y.dim() == 4 else []
        if ys and y.shape[-2:] == x.shape[-2:]:  # same size: one pass over x and y together
            both, _ = self._apply(torch.cat([x, y.to(x.dtype)], 1), [], gen)
            return both[:, :x.shape[1]], both[:, x.shape[1]:]
        x, ys = self._apply(x, ys, gen)
        return x, (ys[0] if ys else y)

    def _apply(self, x: Tensor, ys: list[Tensor], gen: torch.Generator | None):
        n = x.shape[0]
        draws = {id(t): t.draw(n, gen) for t in self.tfms}
        for pad in self._of("pad"):
            x, ys = pad(x), [pad(t) for t in ys]
        size_before_crop = x.shape[-2:]
        x, ys = self._geometry(x, ys, draws)
        for crop in self._of("crop"):
            size = crop.size if crop.size is not None else tuple(
                s - 2 * sum(p.padding for p in self._of("pad")) for s in size_before_crop)
            d = draws[id(crop)]
            for t in ys:
                if t.shape[-2:] != x.shape[-2:]:
                    raise ValueError(f"tfm_y with a random crop needs x and y of the same size, "
                                     f"got {tuple(x.shape[-2:])} and {tuple(t.shape[-2:])}")
            x = crop_batch(x, size, d["row_pct"], d["col_pct"])
            ys = [crop_batch(t, size, d["row_pct"], d["col_pct"]) for t in ys]
        return self._lighting(x, ys, draws)

    def _geometry(self, x: Tensor, ys: list[Tensor], draws: dict[int, Draw]):
        geo = self._of("geometry")
        if not geo:
            return x, ys
        if all(isinstance(t, FlipLR) for t in geo):  # exact, no resampling
            flip = torch.stack([draws[id(t)]["flip"] for t in geo]).sum(0) % 2 == 1
            flip = flip.to(x.device)[:, None, None, None]
            return torch.where(flip, x.flip(-1), x), [torch.where(flip, t.flip(-1), t) for t in ys]
        aspect = x.shape[-1] / x.shape[-2]
        mat, homog = eye_batch(x.shape[0]), None
        flips = [t for t in geo if isinstance(t, FlipLR)]
        for t in [t for t in geo if not isinstance(t, FlipLR)] + flips:  # flip last, like fastai
            if isinstance(t, SymmetricWarp):
                h = t.homography(draws[id(t)])
                homog = h if homog is None else homog @ h
            else:
                mat = mat @ t.matrix(draws[id(t)], aspect)
        proj = mat if homog is None else mat @ homog  # sample at mat(warp(c)) (fastai's order)
        return self._resample(x, proj, homog is not None), \
            [self._resample(t, proj, homog is not None) for t in ys]

    def _resample(self, x: Tensor, proj: Tensor, projective: bool) -> Tensor:
        proj = proj.to(x.device, torch.float32)
        if not projective:
            grid = F.affine_grid(proj[:, :2], list(x.shape), align_corners=False)
        else:  # homogeneous pixel-centre coordinates of ONE image, mapped by each item's matrix
            b, _, h, w = x.shape
            ident = torch.eye(2, 3, device=x.device)[None]
            base = F.affine_grid(ident, [1, 1, h, w], align_corners=False).view(h * w, 2)
            base = torch.cat([base, torch.ones_like(base[:, :1])], 1)              # (HW, 3)
            pts = torch.matmul(base, proj.transpose(1, 2))                         # (B, HW, 3)
            grid = (pts[..., :2] / pts[..., 2:].clamp_min(1e-6)).view(b, h, w, 2)
        out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode=self.padding_mode,
                            align_corners=False)
        return out.clamp_(0, 1) if x.is_floating_point() else out.round().to(x.dtype)

    def _lighting(self, x: Tensor, ys: list[Tensor], draws: dict[int, Draw]):
        light = self._of("lighting")
        if not light:
            return x, ys
        on = torch.stack([draws[id(t)]["on"] for t in light]).any(0)
        if not on.any():
            return x, ys
        # Compose the per-item maps in list order (fastai: brightness, then contrast) into one
        # z -> z * mul + add, so the whole lighting stage is logit, addcmul, sigmoid.
        mul = torch.ones(x.shape[0], dtype=torch.float64)
        add = torch.zeros(x.shape[0], dtype=torch.float64)
        for t in light:
            d = draws[id(t)]
            if "add" in d:
                add = add + d["add"]
            else:
                mul, add = mul * d["mul"], add * d["mul"]
        dev = x.device
        mul, add = (v.to(dev, torch.float32).view(-1, 1, 1, 1) for v in (mul, add))

        def apply(img: Tensor) -> Tensor:
            out = torch.addcmul(add, torch.logit(img, eps=1e-6), mul).sigmoid_()
            return out if on.all() else torch.where(on.to(dev).view(-1, 1, 1, 1), out, img)

        return apply(x), [apply(t) for t in ys]


# --- factories with the lesson's names --------------------------------------------------------


def crop_pad() -> CropPad:
    """Bring items to ``size`` by a centre crop (the validation transform)."""
    return CropPad(random=False)


def rand_crop() -> CropPad:
    """Bring items to ``size`` by a random crop (the first training transform)."""
    return CropPad(random=True)


def rand_pad(padding: int, size: Size | None = None, mode: str = "zeros") -> list[Transform]:
    """Pad by ``padding`` then crop ``size`` (default: the original size) at random: a shift."""
    return [Pad(padding=padding, mode=mode), RandomCrop(size=size)]


def flip_lr(p: float = 0.5) -> FlipLR:
    """Left-right mirror with probability ``p``."""
    return FlipLR(p=p)


def dihedral(p: float = 1.0) -> Dihedral:
    """A random symmetry of the square with probability ``p``."""
    return Dihedral(p=p)


def rotate(degrees: float | tuple[float, float] = 10.0, p: float = 0.75) -> Rotate:
    """Rotation by a uniform angle in ``degrees`` with probability ``p``."""
    return Rotate(p=p, degrees=degrees)


def rand_zoom(scale: tuple[float, float] = (1.0, 1.1), p: float = 0.75) -> Zoom:
    """Zoom in by a factor in ``scale`` at a random centre with probability ``p``."""
    return Zoom(p=p, scale=scale)


def symmetric_warp(magnitude: float | tuple[float, float] = 0.2, p: float = 0.75) -> SymmetricWarp:
    """Perspective warp of the corners by up to ``magnitude`` with probability ``p``."""
    return SymmetricWarp(p=p, magnitude=magnitude)


def brightness(change: tuple[float, float] = (0.4, 0.6), p: float = 0.75) -> Brightness:
    """Brightness change in logit space with probability ``p``."""
    return Brightness(p=p, change=change)


def contrast(scale: tuple[float, float] = (0.8, 1.25), p: float = 0.75) -> Contrast:
    """Contrast change in logit space with probability ``p``."""
    return Contrast(p=p, scale=scale)


def get_transforms(do_flip: bool = True, flip_vert: bool = False, max_rotate: float = 10.0,
                   max_zoom: float = 1.1, max_lighting: float = 0.2, max_warp: float = 0.2,
                   p_affine: float = 0.75, p_lighting: float = 0.75,
                   xtra_tfms: Sequence[Transform] = ()) -> tuple[list[Transform], list[Transform]]:
    """fastai v1 defaults: (train, valid) transform lists (``get_transforms``)."""
    train: list[Transform] = [rand_crop()]
    if do_flip:
        train.append(dihedral() if flip_vert else flip_lr(p=0.5))
    if max_warp:
        train.append(symmetric_warp(magnitude=(-max_warp, max_warp), p=p_affine))
    if max_rotate:
        train.append(rotate(degrees=(-max_rotate, max_rotate), p=p_affine))
    if max_zoom > 1:
        train.append(rand_zoom(scale=(1.0, max_zoom), p=p_affine))
    if max_lighting:
        train.append(brightness(change=(0.5 * (1 - max_lighting), 0.5 * (1 + max_lighting)),
                                p=p_lighting))
        train.append(contrast(scale=(1 - max_lighting, 1 / (1 - max_lighting)), p=p_lighting))
    return train + list(xtra_tfms), [crop_pad()]
