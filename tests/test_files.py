"""Atomic writes: the old file survives a failed write, no debris, usual permissions, no torch."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lesson7.files import atomic_path, atomic_write_json, atomic_write_text


def test_failed_write_keeps_the_old_file_and_leaves_no_part(tmp_path):
    target = atomic_write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError, match="crash"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_creates_missing_folders_and_writes_json(tmp_path):
    out = atomic_write_json(tmp_path / "x" / "y.json", {"path": Path("a/b"), "n": 1})
    assert json.loads(out.read_text()) == {"path": "a/b", "n": 1}


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_final_file_gets_the_usual_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "t.txt", "x")
        with atomic_path(tmp_path / "p.bin") as tmp:
            tmp.write_bytes(b"x")  # the way PIL and numpy write: open, truncate
        with atomic_path(tmp_path / "s.bin") as tmp:  # the way safetensors writes:
            own = tmp_path / "own"  # a 0600 file of its own, renamed over ours
            own.write_bytes(b"x")
            own.chmod(0o600)
            os.replace(own, tmp)
    finally:
        os.umask(old)
    for name in ("t.txt", "p.bin", "s.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_import_needs_no_torch():
    code = "import lesson7.files, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
