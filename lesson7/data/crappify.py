"""Crappify: make degraded copies of a folder of images for a restoration model to undo.

Three crappifiers (each a picklable callable `(img, rng) -> img | (img, jpeg_quality)`):
- `LessonCrappifier`: the lesson's function exactly (course-v3 `nbs/dl1/crappify.py`): short side -> 96 with
  bilinear resampling, q = randint(10, 70) inclusive, `str(q)` in white (PIL's default font) at a
  random spot of the top-left quarter, saved as JPEG quality q.
- `SuperresCrappifier`: the lesson's `resize_one` (short side 96 or 64, quality 60, no text).
- `RealCrappifier`: a simplified Real-ESRGAN second-order chain (blur, resize, noise, JPEG,
  twice; no sinc filters), per image on the CPU (Wang et al. 2021, arXiv:2107.10833; `xinntao/Real-ESRGAN`).
- `GreyCrappifier`: DeOldify's colorization input, the colour removed at full size
  (`convert('LA').convert('RGB')`, jantic/DeOldify `deoldify/augs.py`).
Any other callable with that signature works too.

`crappify_folder` runs one in worker processes with a progress bar. Unlike fastai's `parallel`
(bug B8 in docs/architecture.md: it never called `future.result()`), every failure is collected
with its path and reason while good outputs are kept; a worker turns its error into a string before
it crosses the process boundary, so one bad file (say, an error that cannot be pickled) cannot
break the pool for all the others. Ctrl-C cancels the queued files, lets the workers (which
ignore SIGINT) finish the file in hand, and re-raises `KeyboardInterrupt`.
Outputs keep their relative path and name (the lesson pairs LR and HR by name); a JPEG result
saved under a non-JPEG name is JPEG-encoded in memory and stored losslessly. Each file is
written atomically, finished files are skipped unless `overwrite`, nothing is ever written into
the source folder, and a `seed` makes every file's randomness a function of (seed, relative
path) alone, whatever the worker count.
Speed: JPEGs are decoded at reduced scale with PIL's draft mode (DCT scaling) when the
crappifier says how small its output is (`min_side`). Importing this module needs PIL and
numpy only, never torch (a test checks `sys.modules`): the import costs tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import io
import math
import multiprocessing
import os
import random
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from lesson7.configs.crappify import CrappifyConfig
from lesson7.data.images import IMAGE_EXTENSIONS, ImageDecodeError, open_pil_image
from lesson7.data.items import get_image_files
from lesson7.files import atomic_path

__all__ = ["Crappifier", "LessonCrappifier", "SuperresCrappifier", "RealCrappifier", "GreyCrappifier",
           "CRAPPIFIERS", "make_crappifier", "CrappifyReport", "crappify_file",
           "crappify_folder", "crappify_images", "as_stored", "file_seed", "resize_to"]

Result = Image.Image | tuple[Image.Image, int]
Crappifier = Callable[[Image.Image, random.Random], Result]
"""`(rgb_image, rng) -> image`, or `(image, q)` meaning "store as JPEG quality q"."""

_JPEG_SUFFIXES = {".jpg", ".jpeg", ".jpe"}


def resize_to(size: tuple[int, int], target: int, use_min: bool = True) -> tuple[int, int]:
    """fastai's `resize_to`: scale (w, h) so its min (or max) side is `target`, truncating."""
    w, h = size
    ratio = target / (min(w, h) if use_min else max(w, h))
    return int(w * ratio), int(h * ratio)


def _check_quality(quality: tuple[int, int]) -> tuple[int, int]:
    lo, hi = quality
    if not 1 <= lo <= hi <= 95:
        raise ValueError(f"--quality must be two ints 1 <= lo <= hi <= 95, got {quality}")
    return int(lo), int(hi)


def _check_size(size: int) -> int:
    if size < 8:
        raise ValueError(f"--size must be >= 8 px, got {size}")
    return size


@dataclass
class LessonCrappifier:
    """The lesson's crappifier: resize, stamp the JPEG quality as text, save at that quality."""

    size: int = 96
    """Short side of the output, in pixels."""
    quality: tuple[int, int] = (10, 70)
    """JPEG quality drawn uniformly from this inclusive range."""
    text: bool = True
    """Draw the quality number on the image (what crappify does not break is not learned)."""

    def __post_init__(self) -> None:
        _check_size(self.size)
        self.quality = _check_quality(self.quality)

    @property
    def min_side(self) -> int:
        return self.size

    def __call__(self, img: Image.Image, rng: random.Random) -> Result:
        img = img.resize(resize_to(img.size, self.size), resample=Image.Resampling.BILINEAR)
        w, h = img.size
        q = rng.randint(*self.quality)  # inclusive, as random.randint in the lesson
        if self.text:
            xy = (rng.randint(0, w // 2), rng.randint(0, h // 2))
            ImageDraw.Draw(img).text(xy, str(q), fill=(255, 255, 255))
        return img, q


@dataclass
class SuperresCrappifier(LessonCrappifier):
    """The lesson's `resize_one`: resize only, JPEG quality 60, no text."""

    quality: tuple[int, int] = (60, 60)
    text: bool = False


def _gaussian_kernel(rng: np.random.Generator, sigma_range: tuple[float, float]) -> np.ndarray:
    """Isotropic or (p=0.5) anisotropic rotated Gaussian, 7-21 px (Real-ESRGAN's main kernels)."""
    size = int(rng.choice(np.arange(7, 22, 2)))
    sx = rng.uniform(*sigma_range)
    sy = rng.uniform(*sigma_range) if rng.random() < 0.5 else sx
    theta = rng.uniform(-math.pi, math.pi)
    r = np.arange(size) - size // 2
    xx, yy = np.meshgrid(r, r)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return k / k.sum()


def _blur(arr: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from scipy.ndimage import correlate

    return np.stack([correlate(arr[..., c], kernel, mode="reflect") for c in range(3)], axis=-1)


def _resize_arr(arr: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    modes = [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.BOX]
    mode = modes[rng.integers(3)]
    chans = [Image.fromarray(arr[..., c].astype(np.float32), "F").resize(size, mode)
             for c in range(3)]
    return np.stack([np.asarray(ch) for ch in chans], axis=-1)


def _noise(arr: np.ndarray, rng: np.random.Generator, gauss: tuple[float, float],
           poisson: tuple[float, float]) -> np.ndarray:
    gray = rng.random() < 0.4
    shape = arr.shape[:2] + ((1,) if gray else (3,))
    if rng.random() < 0.5:
        noise = rng.normal(0, rng.uniform(*gauss), size=shape)
    else:  # Poisson (shot) noise at 8 bits, scaled
        base = np.clip(arr, 0, 255) if not gray else np.clip(arr.mean(-1, keepdims=True), 0, 255)
        noise = (rng.poisson(base) - base) * rng.uniform(*poisson)
    return arr + noise


def _jpeg(arr: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=q)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32)


@dataclass
class RealCrappifier:
    """Two rounds of blur -> random resize -> noise -> JPEG, ending at short side `size`.

    Simplified from Real-ESRGAN (`options/train_realesrgan_x4plus.yml`): Gaussian kernels only
    (no generalised/plateau/sinc), run per image on the CPU, starting from the image resized to
    4x the output size (the x4 setting's ground truth scale).
    """

    size: int = 96
    quality: tuple[int, int] = (30, 95)

    def __post_init__(self) -> None:
        _check_size(self.size)
        self.quality = _check_quality(self.quality)

    @property
    def min_side(self) -> int:
        return 4 * self.size

    def __call__(self, img: Image.Image, rng: random.Random) -> Result:
        g = np.random.default_rng(rng.getrandbits(64))
        if min(img.size) > 4 * self.size:
            img = img.resize(resize_to(img.size, 4 * self.size), Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.float32)
        h0, w0 = arr.shape[:2]
        # stage 1
        arr = _blur(arr, _gaussian_kernel(g, (0.2, 3.0)))
        arr = self._random_resize(arr, g, (0.2, 0.7, 0.1), (0.15, 1.5), (w0, h0))
        arr = _noise(arr, g, (1, 30), (0.05, 3))
        arr = _jpeg(arr, int(g.integers(self.quality[0], self.quality[1] + 1)))
        # stage 2
        if g.random() < 0.8:
            arr = _blur(arr, _gaussian_kernel(g, (0.2, 1.5)))
        arr = self._random_resize(arr, g, (0.3, 0.4, 0.3), (0.3, 1.2), (w0, h0))
        arr = _noise(arr, g, (1, 25), (0.05, 2.5))
        out_size = resize_to((w0, h0), self.size)
        q = int(g.integers(self.quality[0], self.quality[1] + 1))
        if g.random() < 0.5:  # resize then JPEG (the JPEG happens when the file is written)
            arr = _resize_arr(arr, out_size, g)
            return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8)), q
        arr = _resize_arr(_jpeg(arr, q), out_size, g)  # JPEG, then resize
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))

    @staticmethod
    def _random_resize(arr: np.ndarray, g: np.random.Generator, probs, scale_range,
                       ref: tuple[int, int]) -> np.ndarray:
        kind = g.choice(3, p=probs)  # up / down / keep
        if kind == 2:
            return arr
        lo, hi = scale_range
        scale = g.uniform(1, hi) if kind == 0 else g.uniform(lo, 1)
        h, w = arr.shape[:2]
        size = (max(8, int(w * scale)), max(8, int(h * scale)))
        return _resize_arr(arr, size, g)


@dataclass
class GreyCrappifier:
    """The colour removed, nothing else: BT.601 luma (PIL's "L", R*299/1000 + G*587/1000 +
    B*114/1000) in all three channels, at the input's size. Through "LA", as DeOldify does, so an
    alpha channel is dropped the same way; the output is RGB so every model reads it unchanged."""

    def __call__(self, img: Image.Image, rng: random.Random) -> Result:
        return img.convert("LA").convert("RGB")


CRAPPIFIERS: dict[str, type] = {"lesson": LessonCrappifier, "superres": SuperresCrappifier,
                                "real": RealCrappifier, "grey": GreyCrappifier}


def make_crappifier(mode: str, size: int | None = None, quality: tuple[int, int] | None = None,
                    text: bool | None = None) -> Crappifier:
    """A crappifier by name (the CLI's --mode), with its defaults unless overridden."""
    if mode not in CRAPPIFIERS:
        raise ValueError(f"unknown crappify mode {mode!r}; choose from {sorted(CRAPPIFIERS)}")
    kwargs: dict = {}
    if mode == "grey" and (size is not None or quality is not None):
        raise ValueError("--mode grey keeps the image size and writes no JPEG damage: "
                         "drop --size and --quality")
    if size is not None:
        kwargs["size"] = size
    if quality is not None:
        kwargs["quality"] = tuple(quality)
    if text is not None:
        if mode != "lesson" and text:
            raise ValueError(f"text stamping is only part of --mode lesson, not {mode!r}")
        if mode == "lesson":
            kwargs["text"] = text
    return CRAPPIFIERS[mode](**kwargs)


def file_seed(seed: int, rel_path: str | Path) -> int:
    """A 64-bit seed from (seed, relative path): independent of order and worker count."""
    digest = hashlib.sha256(f"{seed}:{Path(rel_path).as_posix()}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _open_for(path: Path, min_side: int | None, draft: bool) -> Image.Image:
    """Open upright RGB; JPEGs decoded at the smallest DCT scale that keeps `min_side`.

    Raises `ImageDecodeError` naming the file when it cannot be decoded, on either path.
    """
    if draft and min_side:
        try:
            img = Image.open(path)  # lazy: reads the header only
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return open_pil_image(path, "RGB")  # its error names the file (and the bomb flag)
        if img.format == "JPEG":
            try:
                w, h = img.size
                s = min_side / min(w, h)
                if s < 1:
                    img.draft("RGB", (math.ceil(w * s), math.ceil(h * s)))  # DCT 1/2, 1/4, 1/8
                img = ImageOps.exif_transpose(img) or img
                return img.convert("RGB")  # also CMYK / grey JPEGs
            except (OSError, SyntaxError, ValueError, EOFError) as e:  # e.g. a truncated file
                img.close()
                raise ImageDecodeError(path, f"{type(e).__name__}: {e}") from e
        img.close()
    return open_pil_image(path, "RGB")  # EXIF, CMYK, alpha, palette, 16-bit handled there


def as_stored(result: Result) -> Image.Image:
    """A crappifier's result as the image a file of it would hold: `(img, q)` is JPEG-encoded at
    quality q in memory and decoded (the JPEG damage is the point), a plain image is returned."""
    if not isinstance(result, tuple):
        return result
    img, q = result
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _save(result: Result, dest: Path) -> None:
    img, q = result if isinstance(result, tuple) else (result, None)
    suffix = dest.suffix.lower()
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None:
        raise ValueError(f"cannot write images with suffix {suffix!r}")
    if q is not None and suffix not in _JPEG_SUFFIXES:  # encode the damage, store losslessly
        img, q = as_stored(result), None
    with atomic_path(dest) as tmp:
        if fmt == "JPEG":
            img.convert("RGB").save(tmp, "JPEG", quality=95 if q is None else q)
        else:
            img.save(tmp, fmt)


def crappify_file(src: Path, dest: Path, crappifier: Crappifier, seed: int,
                  draft: bool = True) -> Path:
    """Crappify one image `src` into `dest` (atomic write) with randomness from `seed`."""
    rng = random.Random(seed)
    img = _open_for(src, getattr(crappifier, "min_side", None), draft)
    result = crappifier(img, rng)
    if not isinstance(result, (Image.Image, tuple)):
        raise TypeError(f"crappifier returned {type(result).__name__}, expected a PIL image "
                        f"or (image, jpeg_quality)")
    _save(result, dest)
    return dest


@dataclass
class CrappifyReport:
    """What `crappify_folder` did: relative paths written, skipped, and failed (with reasons)."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        lines = [f"{len(self.written)} written, {len(self.skipped)} skipped (already there), "
                 f"{len(self.failed)} failed"]
        lines += [f"  FAILED {p}: {why}" for p, why in self.failed]
        return "\n".join(lines)


_worker_crappifier: Crappifier | None = None


def _init_worker(crappifier: Crappifier) -> None:
    global _worker_crappifier
    _worker_crappifier = crappifier
    # Ctrl-C reaches the whole process group; the parent alone decides what stops, and a
    # worker finishes (or atomically abandons) the file in hand instead of dying mid-write.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _work(src: Path, dest: Path, seed: int, draft: bool) -> str | None:
    """Worker: crappify one file; return None, or the error as a plain string (always picklable)."""
    assert _worker_crappifier is not None
    try:
        crappify_file(src, dest, _worker_crappifier, seed, draft)
    except Exception as e:  # noqa: BLE001 - the parent reports it with the file name
        return _describe(e)
    return None


def _check_folders(src: Path, dst: Path) -> tuple[Path, Path]:
    src, dst = src.resolve(), dst.resolve()
    if not src.is_dir():
        raise ValueError(f"SRC {src} is not a folder")
    if dst == src or dst.is_relative_to(src) or src.is_relative_to(dst):
        raise ValueError(f"DST {dst} must not be SRC {src}, inside it, or contain it: "
                         f"crappify never writes next to the originals")
    return src, dst


def crappify_folder(src: str | os.PathLike, dst: str | os.PathLike,
                    crappifier: Crappifier | None = None, workers: int | None = None,
                    seed: int | None = None, overwrite: bool = False, progress: bool = True,
                    extensions: Iterable[str] = IMAGE_EXTENSIONS, draft: bool = True,
                    suffix: str | None = None) -> CrappifyReport:
    """Crappify every image under `src` into the same relative path under `dst`.

    Images are listed by `items.get_image_files` (sorted, recursive, hidden files and folders
    skipped, suffixes matched case-insensitively); a `src` without images is a ValueError.

    Args:
        crappifier: any `(img, rng) -> img | (img, q)` callable; default `LessonCrappifier()`.
        workers: processes (default: all cores, at most 16); <= 1 runs in this process.
        seed: makes the output a function of (seed, relative path); None draws a fresh seed.
        overwrite: redo files that already exist in `dst` (default: skip them).
        draft: decode JPEGs at reduced scale when the crappifier declares `min_side`.
        suffix: store outputs under this suffix (e.g. ".png") instead of the input's.
    Returns a `CrappifyReport`; failures do not stop the other files. `KeyboardInterrupt`
    cancels the files not yet started and is re-raised once the workers' files in hand are
    finished; no partial file is left either way.
    """
    src_dir, dst_dir = _check_folders(Path(src), Path(dst))
    crappifier = crappifier if crappifier is not None else LessonCrappifier()
    if seed is None:
        seed = random.SystemRandom().getrandbits(63)
    report = CrappifyReport()
    tasks = []
    for path in get_image_files(src_dir, extensions):
        rel = path.relative_to(src_dir)
        dest = dst_dir / (rel.with_suffix(suffix) if suffix else rel)
        if dest.exists() and not overwrite:
            report.skipped.append(rel)
            continue
        tasks.append((rel, path, dest, file_seed(seed, rel)))
    if workers is None:
        workers = min(16, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc="crappify", unit="img", disable=not progress)
    try:
        if workers <= 1 or len(tasks) <= 1:
            for rel, path, dest, s in tasks:
                try:
                    crappify_file(path, dest, crappifier, s, draft)
                    report.written.append(rel)
                except Exception as e:  # noqa: BLE001 - reported with the file name, not swallowed
                    report.failed.append((rel, _describe(e)))
                bar.update()
        else:
            _run_pool(tasks, crappifier, workers, draft, report, bar.update)
    finally:
        bar.close()
    report.written.sort()
    report.failed.sort()
    return report


def _run_pool(tasks: list, crappifier: Crappifier, workers: int, draft: bool,
              report: CrappifyReport, tick: Callable[[], object]) -> None:
    # fork (POSIX): the crappifier reaches the workers without pickling, so closures work.
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(crappifier,))
    try:
        futures = {pool.submit(_work, path, dest, s, draft): rel for rel, path, dest, s in tasks}
        for fut in as_completed(futures):
            rel = futures[fut]
            try:
                error = fut.result()  # a string from the worker, or a pool failure (B8 fix)
            except Exception as e:  # noqa: BLE001 - e.g. a worker killed by the OOM killer
                error = _describe(e)
            if error is None:
                report.written.append(rel)
            else:
                report.failed.append((rel, error))
            tick()
    except BaseException:
        # Ctrl-C (or any error here): drop the queued files now; the files in hand finish
        # atomically in their workers, so nothing half-written is left behind.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def crappify_images(cfg: CrappifyConfig) -> CrappifyReport:
    """`lesson7 crappify`: crappify cfg.src into cfg.dst; writes DST/crappify_report.json."""
    from lesson7.files import atomic_write_json

    crappifier = make_crappifier(cfg.mode, cfg.size, cfg.quality,
                                 text=None if cfg.text else False)  # None: the mode's default
    report = crappify_folder(cfg.src, cfg.dst, crappifier, workers=cfg.workers, seed=cfg.seed,
                             overwrite=cfg.overwrite, progress=cfg.progress, draft=cfg.draft)
    atomic_write_json(Path(cfg.dst) / "crappify_report.json", {
        "mode": cfg.mode, "crappifier": repr(crappifier), "seed": cfg.seed,
        "written": len(report.written), "skipped": len(report.skipped),
        "failed": [{"path": str(p), "reason": why} for p, why in report.failed]})
    return report
