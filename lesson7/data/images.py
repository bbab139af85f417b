"""Image loading: one file -> a uint8 or float tensor in a canonical mode ("L" or "RGB").

Scope: decoding one image with the mode conversions the lesson's data needs, and decoding a
whole split into ONE uint8 array (a process pool, plus an on-disk .npy cache) for in-memory
loaders. Random geometry belongs to ``transforms.py``; only the deterministic "resize to cover
``size``" step is done here, at decode time.

Conversions (documented because each is a choice):
- EXIF orientation is applied (``PIL.ImageOps.exif_transpose``), so phone photos stand upright.
- CMYK / YCbCr / LAB / HSV -> RGB via PIL.
- Transparency (RGBA, LA, PA, P with a transparency key) is composited on **white**, not dropped:
  dropping alpha exposes whatever colour the encoder left under transparent pixels (often black
  or garbage), compositing gives what a viewer shows.
- Palette (P) -> RGB; 1-bit -> L.
- 16-bit (I;16*, and I holding values above 255) -> 8-bit by ``round(v / 257)`` (65535 -> 255);
  float (F) images are taken as [0, 1] when their max is <= 1, else as [0, 255], then clipped.
- RGB -> L uses PIL's ITU-R 601-2 luma.

Decompression bombs: PIL refuses images above ``2 * Image.MAX_IMAGE_PIXELS`` (~179 Mpx). We turn
that into a ``ValueError`` naming the file; pass ``allow_large=True`` or set the environment
variable ``LESSON7_ALLOW_LARGE_IMAGES=1`` to open trusted large images.

Torch is imported only by ``open_image`` (the one function returning a tensor), so the
PIL-only paths (crappify, listing files) start without it.

Refs: Pillow docs "Image file formats" and ``Image.open`` (decompression bomb protection).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import struct
import sys
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "IMAGE_EXTENSIONS",
    "ALLOW_LARGE_ENV",
    "ImageDecodeError",
    "open_pil_image",
    "pil_to_tensor",
    "tensor_to_pil",
    "read_image_array",
    "open_image",
    "resize_to_cover",
    "DecodedStack",
    "decode_stack",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".gif", ".tif", ".tiff", ".webp",
     ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".tga"}
)
"""Lower-case file suffixes treated as images by ``from_folder`` (others are skipped)."""

ALLOW_LARGE_ENV = "LESSON7_ALLOW_LARGE_IMAGES"
CONVERT_MODES = ("L", "RGB")

# Formats whose EXIF (if any) Pillow exposes as info["exif"]; for these, an image without that
# key has no orientation tag and we can skip exif_transpose (it costs ~60 us per MNIST PNG).
_EXIF_IN_INFO = {"PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP"}
_bomb_lock = threading.Lock()
Cover = int | tuple[int, int] | None


class ImageDecodeError(ValueError):
    """A file could not be decoded as an image; ``path`` names it."""

    def __init__(self, path: Path | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot decode image {str(path)!r}: {reason}")

    def __reduce__(self):  # picklable, so it can cross a process boundary (workers)
        return type(self), (self.path, self.reason)


def _allow_large(allow_large: bool | None) -> bool:
    if allow_large is not None:
        return allow_large
    return os.environ.get(ALLOW_LARGE_ENV, "").strip().lower() in {"1", "true", "yes"}


def _check_mode(convert_mode: str) -> None:
    if convert_mode not in CONVERT_MODES:
        raise ValueError(f"convert_mode must be one of {CONVERT_MODES}, got {convert_mode!r}")


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit / 32-bit int / float greyscale -> 8-bit L."""
    arr = np.asarray(im)
    if im.mode == "F":
        arr = arr.astype(np.float64) * (255.0 if arr.size and arr.max() <= 1.0 else 1.0)
    elif im.mode.startswith("I;16") or (arr.size and arr.max() > 255):
        arr = np.clip(arr.astype(np.float64), 0, 65535) / 257.0
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")


def _canonical(im: Image.Image, convert_mode: str) -> Image.Image:
    """Any PIL mode -> ``convert_mode`` following the rules in the module docstring."""
    if im.mode == convert_mode:
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        im = _to_8bit(im)
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "PA":
        im = im.convert("RGBA")
    elif im.mode == "L" and "transparency" in im.info:
        im = im.convert("LA")
    if im.mode in ("RGBA", "LA", "La", "RGBa"):
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im.convert("RGBA")).convert("RGB")
    return im if im.mode == convert_mode else im.convert(convert_mode)


def _open(path: Path, allow_large: bool) -> Image.Image:
    try:
        return Image.open(path)
    except Image.DecompressionBombError as e:
        if not allow_large:
            raise ValueError(
                f"image {str(path)!r} is larger than PIL's decompression-bomb limit "
                f"({e}); if you trust this file pass allow_large=True or set "
                f"{ALLOW_LARGE_ENV}=1") from None
    # The limit is a module global in PIL; lift it only for this open, under a lock.
    with _bomb_lock:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def open_pil_image(path: Path | str, convert_mode: str = "RGB",
                   allow_large: bool | None = None) -> Image.Image:
    """Decode ``path`` into a loaded PIL image in ``convert_mode`` ("L" or "RGB"), upright.

    Raises ``ImageDecodeError`` (a ``ValueError``) naming the file when it is not a readable image,
    ``ValueError`` when it trips PIL's decompression-bomb guard, ``FileNotFoundError`` if missing.
    """
    _check_mode(convert_mode)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {str(path)!r}")
    try:
        im = _open(path, _allow_large(allow_large))
    except (OSError, SyntaxError) as e:  # PIL.UnidentifiedImageError is an OSError
        raise ImageDecodeError(path, f"{type(e).__name__}: {e}") from e
    original = im
    try:
        if im.format not in _EXIF_IN_INFO or "exif" in im.info:
            im = ImageOps.exif_transpose(im) or im
        out = _canonical(im, convert_mode)
        out.load()  # decode now, inside the try, so truncated files fail here
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as e:
        original.close()
        raise ImageDecodeError(path, f"{type(e).__name__}: {e}") from e
    if out is original and getattr(original, "n_frames", 1) > 1:
        out = original.copy()  # multi-frame files keep their file open; detach from it
    if out is not original:
        original.close()
    return out


def resize_to_cover(im: Image.Image, size: int | tuple[int, int]) -> Image.Image:
    """Resize (bilinear; PIL antialiases when shrinking) by the smallest factor that makes the
    image cover ``size`` = (h, w); for a square size this sets the short side to ``size``."""
    h, w = (size, size) if isinstance(size, int) else size
    scale = max(h / im.height, w / im.width)
    new = (max(w, round(im.width * scale)), max(h, round(im.height * scale)))
    return im if new == im.size else im.resize(new, Image.Resampling.BILINEAR)


def read_image_array(path: Path | str, convert_mode: str = "RGB",
                     cover: int | tuple[int, int] | None = None,
                     allow_large: bool | None = None) -> np.ndarray:
    """``path`` -> uint8 array (C, H, W); resized to cover ``cover`` = (h, w) when given."""
    im = open_pil_image(path, convert_mode, allow_large)
    if cover is not None:
        im = resize_to_cover(im, cover)
    arr = np.asarray(im, dtype=np.uint8)
    chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return np.require(chw, requirements=["C", "W"])  # contiguous and writable (copies if needed)


def open_image(path: Path | str, convert_mode: str = "RGB",
               allow_large: bool | None = None) -> Tensor:
    """``path`` -> float32 tensor (C, H, W) in [0, 1]; C is 1 for "L" and 3 for "RGB"."""
    import torch  # here, not at module level: see the module docstring

    arr = read_image_array(path, convert_mode, allow_large=allow_large)
    return torch.from_numpy(arr).float().div_(255)


# ---------------------------------------------------------------------------------------------
# Decoding a whole split into one array


@dataclass
class DecodedStack:
    """The result of ``decode_stack``: the images that decoded, stacked, and the ones that did not.

    ``data`` holds the decoded images in input order minus ``failed`` (shape (N_ok, C, H, W));
    it is ``None`` when ``mismatch`` names an image whose shape differs from the first one's
    (such a split cannot be one tensor, so callers stream it instead).
    """

    data: np.ndarray | None
    failed: dict[int, str] = field(default_factory=dict)
    mismatch: int | None = None


_CHUNK = 512
_CACHE_VERSION = 1


def _decode_chunk(paths: Sequence[Path], convert_mode: str, cover: Cover,
                  allow_large: bool | None, shape: tuple[int, ...]):
    """Worker: decode ``paths`` into one (k, C, H, W) block; failures and a shape mismatch noted."""
    block = np.zeros((len(paths), *shape), dtype=np.uint8)
    failed: list[tuple[int, str]] = []
    for j, path in enumerate(paths):
        try:
            arr = read_image_array(path, convert_mode, cover, allow_large)
        except ImageDecodeError as e:
            failed.append((j, str(e)))
            continue
        if arr.shape != shape:
            return None, failed, j
        block[j] = arr
    return block, failed, None


def _n_workers(n_items: int, workers: int | None) -> int:
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)), 8) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    return 1 if n_items < 2 * _CHUNK else max(1, workers)


def _decode_all(paths: Sequence[Path], convert_mode: str, cover: Cover,
                allow_large: bool | None, workers: int | None) -> DecodedStack:
    failed: dict[int, str] = {}
    first = None
    for i, path in enumerate(paths):  # the first decodable image fixes the shape
        try:
            first = read_image_array(path, convert_mode, cover, allow_large)
            break
        except ImageDecodeError as e:
            failed[i] = str(e)
    if first is None:
        return DecodedStack(np.zeros((0, 1, 1, 1), np.uint8), failed)
    start = i
    out = np.empty((len(paths), *first.shape), dtype=np.uint8)
    chunks = [(s0, paths[s0:s0 + _CHUNK]) for s0 in range(start, len(paths), _CHUNK)]
    args = (convert_mode, cover, allow_large, first.shape)
    n_workers = _n_workers(len(paths), workers)
    if n_workers == 1:
        results = (_decode_chunk(chunk, *args) for _, chunk in chunks)
        return _assemble(out, chunks, results, failed)
    # fork (Linux): the workers only run PIL/numpy, and fork avoids re-importing torch in each.
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(n_workers, mp_context=ctx) as pool:
        futures = [pool.submit(_decode_chunk, chunk, *args) for _, chunk in chunks]
        try:
            return _assemble(out, chunks, (f.result() for f in futures), failed)
        finally:
            for f in futures:
                f.cancel()


def _assemble(out: np.ndarray, chunks, results, failed: dict[int, str]) -> DecodedStack:
    for (s0, _), (block, chunk_failed, mismatch) in zip(chunks, results, strict=True):
        failed.update({s0 + j: msg for j, msg in chunk_failed})
        if mismatch is not None:
            return DecodedStack(None, failed, s0 + mismatch)
        out[s0:s0 + len(block)] = block
    if failed:
        keep = np.ones(len(out), dtype=bool)
        keep[list(failed)] = False
        out = out[keep]
    return DecodedStack(out, failed)


def _cache_key(paths: Sequence[Path], convert_mode: str, cover: Cover) -> str:
    h = hashlib.sha256(f"v{_CACHE_VERSION}|{convert_mode}|{cover}".encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"|{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def decode_stack(paths: Sequence[Path], convert_mode: str = "RGB", cover: Cover = None,
                 allow_large: bool | None = None, workers: int | None = None,
                 cache_dir: Path | None = None) -> DecodedStack:
    """Decode ``paths`` into one uint8 array (N, C, H, W), in a process pool for big splits.

    With ``cache_dir``, the array is cached as ``<cache_dir>/<key>.npy`` (+ ``<key>.json`` listing
    failed files), where ``key`` hashes the convert mode, ``cover`` and every file's absolute
    path, size and mtime: any change to the file list re-decodes. Cache files are written to a
    temporary name and renamed, so an interrupted run leaves no half-written cache.
    """
    _check_mode(convert_mode)
    key = _cache_key([os.path.abspath(p) for p in paths], convert_mode, cover) \
        if cache_dir is not None else ""
    if cache_dir is not None:
        npy, meta = Path(cache_dir) / f"{key}.npy", Path(cache_dir) / f"{key}.json"
        if npy.is_file() and meta.is_file():
            try:
                info = json.loads(meta.read_text())
                data = np.load(npy)
                failed = {int(k): v for k, v in info["failed"].items()}
                if len(data) + len(failed) == len(paths):
                    return DecodedStack(data, failed)
            except (OSError, ValueError, KeyError) as e:  # unreadable cache: decode again
                warnings.warn(f"ignoring unreadable decode cache {npy}: {e}", stacklevel=2)
    result = _decode_all(list(paths), convert_mode, cover, allow_large, workers)
    if cache_dir is not None and result.data is not None:
        _write_cache(Path(cache_dir), key, result, len(paths))
    return result


def _write_cache(cache_dir: Path, key: str, result: DecodedStack, n: int) -> None:
    """npy first, then the json that marks it complete; both via temp name + rename."""
    tmp = cache_dir / f".{key}.{os.getpid()}.tmp.npy"
    tmp_meta = cache_dir / f".{key}.{os.getpid()}.tmp.json"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(tmp, result.data)
        os.replace(tmp, cache_dir / f"{key}.npy")
        tmp_meta.write_text(json.dumps({"n": n, "failed": result.failed}))
        os.replace(tmp_meta, cache_dir / f"{key}.json")
    except OSError as e:  # a read-only or full cache dir must not stop training
        warnings.warn(f"could not write decode cache in {cache_dir}: {e}", stacklevel=3)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)


def pil_to_tensor(img: Image.Image) -> Tensor:
    """PIL image -> float (C, H, W) in [0, 1]."""
    import torch  # here, not at module level: see the module docstring

    arr = torch.from_numpy(np.array(img))                       # uint8 (H, W) or (H, W, C)
    chw = arr[None] if arr.dim() == 2 else arr.permute(2, 0, 1)  # (C, H, W), a view
    return chw.to(torch.float32).div_(255)


def tensor_to_pil(x: Tensor) -> Image.Image:
    """float (C, H, W) in [0, 1] -> 8-bit PIL image (rounded, clipped)."""
    arr = (x.clamp(0, 1) * 255).round().byte().cpu().numpy()
    return Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))
