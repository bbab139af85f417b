"""`predict_images(cfg)`: restore image files of any size, streamed from the tiles into PNGs.

Which path is the model, how outputs are named and what is refused: `PredictConfig`'s
docstring (`lesson7 restore predict --help`). All of it is checked before the model loads.
Each image then: its output size, from the file's header, is checked against
--max-megapixels before anything is decoded; it is decoded upright (EXIF); it runs through the
model one band of tiles at a time (`Restorer.restore_rows`) and each band's rows go straight
into the PNG (`png_writer.write_png`), under a temporary name renamed when complete, so a
failure or Ctrl-C never leaves a partial output.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image

from lesson7.configs.restore import PredictConfig
from lesson7.data.images import open_pil_image
from lesson7.data.items import get_image_files
from lesson7.restore.png_writer import write_png
from lesson7.restore.predict_loop import predict_each
from lesson7.restore.restorer import Restorer
from lesson7.restore.shipped import shipped_model_path

__all__ = ["predict_images", "model_and_images", "input_files", "plan_outputs", "restore_file",
           "stored_size"]

RUN_FILES = ("model.safetensors", "model.json", "config.json")
"""A folder holding any of these is a run folder, i.e. a model, not a folder of images."""


def model_and_images(paths: list[Path]) -> tuple[Path | None, list[Path]]:
    """Split `restore predict`'s paths: (the model, or None for the shipped one; the images).

    The first path is the model when it is a run folder (holds one of `RUN_FILES`), a
    `.safetensors` path, or `X` or `X.json` beside an `X.safetensors` (as `Restorer.load`).
    """
    first = paths[0]
    if ((first.is_dir() and any((first / name).is_file() for name in RUN_FILES))
            or first.suffix == ".safetensors"
            or (first.suffix in ("", ".json") and not first.is_dir()
                and first.with_suffix(".safetensors").is_file())):
        if len(paths) == 1:
            raise ValueError(f"no images given after the model {first}")
        return first, list(paths[1:])
    if not first.exists():
        raise ValueError(f"no restore checkpoint or image at {first}")
    return None, list(paths)


def input_files(paths: list[Path]) -> list[Path]:
    """Image files named directly or found (recursively) in the given folders."""
    return [f for f, _ in _listed(paths)]


def _listed(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(image file, its name relative to the folder given, or its file name), each file once."""
    found: list[tuple[Path, Path]] = []
    for p in paths:
        if p.is_dir():
            found += [(f, f.relative_to(p)) for f in get_image_files(p)]  # none: a ValueError
        elif p.is_file():
            found.append((p, Path(p.name)))
        else:
            raise ValueError(f"input {p} does not exist")
    seen: set[Path] = set()
    unique = []
    for f, rel in found:  # a file named directly and again inside a folder given: once
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append((f, rel))
    return unique


def plan_outputs(paths: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """(input file, output file) for every image under `paths`, named as `PredictConfig` says.

    Raises a ValueError, before anything is written, when --out is or lies inside an input
    folder, when an output would land in an input folder or on an input file, or when two
    inputs would still share an output name.
    """
    out_abs = out.resolve()
    folders = [p.resolve() for p in paths if p.is_dir()]
    for p, folder in zip([p for p in paths if p.is_dir()], folders, strict=True):
        if out_abs == folder or out_abs.is_relative_to(folder):
            raise ValueError(f"--out {out} is inside the input folder {p}: restore never writes "
                             f"into an input folder; choose another --out")
    listed = _listed(paths)
    plain = Counter(rel.with_suffix(".png") for _, rel in listed)
    names = [rel.with_name(rel.name + ".png")
             if plain[rel.with_suffix(".png")] > 1 and rel.suffix != ".png"
             else rel.with_suffix(".png") for _, rel in listed]
    owners: dict[Path, Path] = {}
    for (f, _), name in zip(listed, names, strict=True):
        if name in owners:
            raise ValueError(f"{owners[name]} and {f} would both be restored to {out / name}; "
                             f"restore them into separate --out folders")
        owners[name] = f
    inputs = {f.resolve() for f, _ in listed}
    plan = []
    for (f, _), name in zip(listed, names, strict=True):
        dest = (out / name).resolve()
        if dest in inputs:
            raise ValueError(f"--out {out} would overwrite the input {dest}")
        if any(dest.is_relative_to(folder) for folder in folders):
            raise ValueError(f"--out {out} would write {out / name} into an input folder")
        plan.append((f, out / name))
    return plan


def stored_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file's header, nothing decoded; None when PIL cannot tell
    (`open_pil_image` then raises the error that names the file)."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _check_output_size(restorer: Restorer, size: tuple[int, int], cfg: PredictConfig) -> None:
    w, h = restorer.output_size(size, cfg.scale)
    if w * h > cfg.max_megapixels * 1e6:
        raise ValueError(f"its {size[0]}x{size[1]} px would become {w}x{h} px "
                         f"({w * h / 1e6:.1f} megapixels), above --max-megapixels "
                         f"{cfg.max_megapixels:g}; raise it to restore this image")


def restore_file(restorer: Restorer, src: Path, dest: Path, cfg: PredictConfig) -> tuple[int, int]:
    """Restore `src` into the PNG `dest` (atomically); returns the output's (width, height)."""
    stored = stored_size(src)
    if stored is not None:
        _check_output_size(restorer, stored, cfg)  # before the image is decoded
    img = open_pil_image(src, restorer.mode)        # upright (EXIF)
    _check_output_size(restorer, img.size, cfg)
    size = restorer.output_size(img.size, cfg.scale)
    write_png(dest, size, restorer.restore_rows(img, cfg.scale, cfg.tile, cfg.overlap))
    return size


def predict_images(cfg: PredictConfig) -> list[tuple[Path, str]]:
    """Restore every input into cfg.out; returns the (file, reason) pairs that failed."""
    from lesson7.train.learner import pick_device

    checkpoint, images = model_and_images(cfg.paths)
    plan = plan_outputs(images, cfg.out)
    restorer = Restorer.load(checkpoint or shipped_model_path(cfg.scale), pick_device(cfg.device))
    counts = predict_each(plan, lambda src, dest: restore_file(restorer, src, dest, cfg),
                          desc="restore", overwrite=cfg.overwrite,
                          out_of_memory=f"out of memory; try a smaller --tile (now {cfg.tile})")
    print(f"{counts.done} restored, {counts.skipped} skipped (already there), "
          f"{len(counts.failures)} failed")
    counts.print_failures()
    return counts.failures
