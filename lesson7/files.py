"""Atomic file writes: a crash or Ctrl-C mid-write leaves the previous file (or none), never half.

Write to a temporary file in the destination's folder, then rename it over the destination
(``os.replace`` is atomic within one file system). The temporary file is created with mode
0o666 and the kernel applies the process umask, so finished files get the usual permissions
(0644 under umask 022), not the 0600 of ``tempfile.mkstemp``; a writer that swaps in a file of
its own (safetensors writes a 0600 temp file and renames it) gets that mode restored before the
final rename. Torch-free: the crappify path and the CLI's light commands import this without
paying for torch.

Refs: POSIX ``rename(2)``; Python docs ``os.replace``, ``os.open`` (mode is masked by umask).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_json"]


def _create_temp(path: Path) -> tuple[Path, int]:
    """A new empty file `.<name>.<random>.part` beside `path`, and its mode (0o666 - umask)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        return tmp, mode
    raise FileExistsError(f"could not create a temporary file beside {str(path)!r}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it over `path`, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, mode = _create_temp(path)
    try:
        yield tmp
        if stat.S_IMODE(os.stat(tmp).st_mode) != mode:  # the writer replaced our file
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically (tensors and paths allowed)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    # Tensors and numpy arrays by duck typing, so this module never imports torch.
    if hasattr(o, "numel") and hasattr(o, "item"):  # torch.Tensor
        return o.item() if o.numel() == 1 else o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
