"""The data block chain: items, splits, labels and the errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lesson7.data import ImageList
from lesson7.data.splits import split_by_rand_pct


def test_from_folder_filters_extensions_and_hidden_files(mnist_like, png):
    (mnist_like / "training" / "0" / "notes.txt").write_text("not an image")
    (mnist_like / "training" / "0" / ".hidden.png").write_bytes(b"")
    png(mnist_like / "training" / "0" / "photo.JPG", np.zeros((8, 8)))
    il = ImageList.from_folder(mnist_like, convert_mode="L")
    assert len(il) == 18 + 6 + 1
    assert all(p.suffix in (".png", ".JPG") and not p.name.startswith(".") for p in il.items)
    assert il.items == sorted(il.items)
    only = ImageList.from_folder(mnist_like, extensions=["jpg"])
    assert [p.name for p in only.items] == ["photo.JPG"]
    with pytest.raises(ValueError, match=r"no image files.*\.bmp.*26 other files"):
        ImageList.from_folder(mnist_like, extensions=[".bmp"])


def test_include_limits_first_level_folders(mnist_like):
    il = ImageList.from_folder(mnist_like, include=["testing"])
    assert len(il) == 6 and all("testing" in p.parts for p in il.items)


def test_split_by_folder_and_label_from_folder(mnist_like):
    ll = (ImageList.from_folder(mnist_like, convert_mode="L")
          .split_by_folder(train="training", valid="testing").label_from_folder())
    assert (len(ll.train_x), len(ll.valid_x)) == (18, 6)
    assert ll.classes == ["0", "1", "2"]
    assert all(ll.classes[y] == p.parent.name for p, y in zip(ll.train_x, ll.train_y, strict=True))


def test_split_by_rand_pct_is_seeded_like_fastai(mnist_like):
    il = ImageList.from_folder(mnist_like)
    a = il.split_by_rand_pct(0.25, seed=42)
    b = il.split_by_rand_pct(0.25, seed=42)
    assert a.valid.items == b.valid.items and len(a.valid) == int(0.25 * 24)
    assert not set(a.train.items) & set(a.valid.items)
    # fastai: np.random.seed(42); permutation(n)[:cut] are the validation indices
    np.random.seed(42)
    expected = sorted(np.random.permutation(24)[:6].tolist())
    assert split_by_rand_pct(24, 0.25, 42)[1] == expected
    with pytest.raises(ValueError, match="valid_pct"):
        il.split_by_rand_pct(1.5)


def test_split_none_has_empty_valid(mnist_like):
    ll = ImageList.from_folder(mnist_like).split_none().label_from_func(lambda p: p.parent.name)
    assert len(ll.train_x) == 24 and ll.valid_x == []


def test_label_from_func_classes_and_image_targets(tmp_path, tree):
    root = tree(tmp_path / "d", {"": {"lr": 4, "hr": 4}})
    il = ImageList.from_folder(root / "lr")
    ll = il.split_none().label_from_func(lambda p: "odd" if int(p.stem) % 2 else "even")
    assert ll.classes == ["even", "odd"]
    img = il.split_none().label_from_func(lambda p: root / "hr" / p.name)
    assert img.classes is None and all(isinstance(y, Path) for y in img.train_y)
    with pytest.raises(ValueError, match="do not exist"):
        il.split_none().label_from_func(lambda p: root / "missing" / p.name)
    with pytest.raises(ValueError, match="returned Paths for some"):
        il.split_none().label_from_func(lambda p: p if p.stem == "0" else "cls")


def test_valid_labels_unseen_in_train_are_dropped_with_a_warning(tmp_path, tree):
    root = tree(tmp_path / "d", {"train": {"a": 2}, "valid": {"a": 1, "b": 1}})
    with pytest.warns(UserWarning, match="dropped 1 items"):
        ll = ImageList.from_folder(root).split_by_folder().label_from_folder()
    assert len(ll.valid_x) == 1 and ll.valid_y == [0]


def test_bad_input_errors_name_the_path(tmp_path, tree):
    with pytest.raises(ValueError, match="not found"):
        ImageList.from_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files found under.*empty"):
        ImageList.from_folder(tmp_path / "empty")
    flat = tree(tmp_path / "flat", {"training": {"": 3}, "testing": {"": 2}})
    with pytest.raises(ValueError, match="no class sub-folders.*training"):
        ImageList.from_folder(flat).split_by_folder("training", "testing").label_from_folder()
    with pytest.raises(ValueError, match=r"split_by_folder\(valid='valid'\).*testing"):
        ImageList.from_folder(flat).split_by_folder("training")
    with pytest.raises(ValueError, match="convert_mode"):
        ImageList.from_folder(flat, convert_mode="CMYK")
