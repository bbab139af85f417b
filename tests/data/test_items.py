"""get_image_files: the one rule for the images in a folder (hidden, case, order, empty)."""

from __future__ import annotations

import pytest
from PIL import Image

from lesson7.data.items import get_image_files


def _touch_png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path, format="PNG")


def test_recursive_sorted_case_insensitive_and_hidden_skipped(tmp_path):
    for rel in ("z.png", "a/b.png", "a/C.JPG", "a/deep/d.webp", ".hidden.png", "._e.png",
                ".ipynb_checkpoints/f.png", "a/.cache/g.png"):
        _touch_png(tmp_path / rel)
    (tmp_path / "notes.txt").write_text("not an image")
    found = [p.relative_to(tmp_path).as_posix() for p in get_image_files(tmp_path)]
    assert found == ["a/C.JPG", "a/b.png", "a/deep/d.webp", "z.png"]
    assert get_image_files(tmp_path) == sorted(get_image_files(tmp_path))
    assert [p.name for p in get_image_files(tmp_path, extensions=["JPG"])] == ["C.JPG"]
    assert [p.name for p in get_image_files(tmp_path, recurse=False)] == ["z.png"]


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    _touch_png(tmp_path / "empty" / ".hidden" / "x.png")
    with pytest.raises(ValueError, match="no image files found under .*empty"):
        get_image_files(tmp_path / "empty")
    with pytest.raises(ValueError, match="image folder not found"):
        get_image_files(tmp_path / "missing")
