"""Items: find the image files under a folder (the ``from_folder`` part of the data block API).

This is the one rule for "the images in a folder", used by the data block API, crappify and
LR/HR pairing: recursive; only files whose suffix is an image suffix (``images.IMAGE_EXTENSIONS``
by default), compared case-insensitively (``a.JPG`` counts); hidden files and folders
(``.DS_Store``, ``._x.png``, ``.ipynb_checkpoints``) skipped; a folder without images is a
``ValueError``. The order is ``sorted()`` of the paths (name by name at every level), so it does
not depend on the file system. Torch-free.

Refs: fastai v1 ``get_files`` / ``ImageList.from_folder``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lesson7.data.images import IMAGE_EXTENSIONS

__all__ = ["get_image_files", "normalize_extensions"]


def normalize_extensions(extensions: Iterable[str] | None) -> frozenset[str]:
    """``["PNG", ".jpg"]`` -> ``{".png", ".jpg"}``; ``None`` -> the image suffixes."""
    if extensions is None:
        return IMAGE_EXTENSIONS
    if isinstance(extensions, str):
        extensions = [extensions]
    exts = frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    if not exts:
        raise ValueError("extensions must name at least one suffix, got an empty list")
    return exts


def get_image_files(path: Path | str, extensions: Iterable[str] | None = None,
                    include: Iterable[str] | None = None, recurse: bool = True) -> list[Path]:
    """All files under ``path`` with one of ``extensions``, sorted (see the module docstring).

    Args:
        include: if given, only these first-level sub-folders of ``path`` are searched.
        recurse: search sub-folders (``True``) or only ``path`` itself.

    Raises ``ValueError`` naming ``path`` when it is missing, is not a folder, or holds no image.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise ValueError(f"image folder not found: {str(root)!r}")
    if not root.is_dir():
        raise ValueError(f"not a folder: {str(root)!r}")
    exts = normalize_extensions(extensions)
    include = None if include is None else {include} if isinstance(include, str) else set(include)
    if include is not None:
        missing = sorted(n for n in include if not (root / n).is_dir())
        if missing:
            raise ValueError(f"include names folders missing from {str(root)!r}: {missing}")
    found: list[Path] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        top = here == root
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and (not top or include is None or d in include)) if recurse else []
        if top and include is not None:
            continue  # with include, files directly under root are not part of any named folder
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in exts:
                found.append(here / name)
            else:
                skipped += 1
    if not found:
        where = f" in {sorted(include)}" if include is not None else ""
        raise ValueError(f"no image files found under {str(root)!r}{where} (looked for "
                         f"{sorted(exts)}; {skipped} other files skipped)")
    return sorted(found)  # a/b.png before z.png (os.walk alone yields z.png first)
