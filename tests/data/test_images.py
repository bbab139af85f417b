"""open_image: modes, EXIF, bombs, corrupt files, torch-free import; decode_stack: pool,
failures, cache."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.data.images import (
    ALLOW_LARGE_ENV,
    ImageDecodeError,
    decode_stack,
    open_image,
    read_image_array,
)


def test_convert_mode_l_gives_rank3_one_channel(tmp_path, png):
    arr = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    path = png(tmp_path / "a.png", arr)
    x = open_image(path, "L")
    assert x.shape == (1, 12, 10) and x.dtype == torch.float32
    assert torch.equal((x[0] * 255).round().byte(), torch.from_numpy(arr))
    rgb = open_image(path, "RGB")
    assert rgb.shape == (3, 12, 10) and torch.equal(rgb[0], rgb[2])


def test_rgba_is_composited_on_white(tmp_path):
    arr = np.zeros((4, 4, 4), np.uint8)
    arr[..., 0] = 200           # red
    arr[:2, :, 3] = 0           # top half fully transparent
    arr[2:, :, 3] = 255         # bottom half opaque
    Image.fromarray(arr, "RGBA").save(tmp_path / "t.png")
    x = read_image_array(tmp_path / "t.png", "RGB")
    assert (x[:, :2] == 255).all()                       # transparent -> white
    assert (x[:, 2:, :] == np.array([200, 0, 0])[:, None, None]).all()


def test_palette_cmyk_and_16bit_are_converted(tmp_path):
    Image.new("P", (3, 3), 5).save(tmp_path / "p.png")
    assert read_image_array(tmp_path / "p.png", "RGB").shape == (3, 3, 3)
    Image.new("CMYK", (3, 2), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    cmyk = read_image_array(tmp_path / "c.jpg", "RGB")
    assert cmyk.shape == (3, 2, 3) and cmyk.min() > 240    # no ink -> white
    deep = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    got = read_image_array(tmp_path / "d.png", "L")
    assert got.tolist() == [[[0, 100, 255]]]


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (6, 2), (0, 0, 0))
    im.putpixel((0, 0), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "o.jpg", exif=exif, quality=100)
    assert open_image(tmp_path / "o.jpg").shape == (3, 6, 2)  # displayed upright: 2 wide, 6 high


def test_corrupt_file_error_names_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ImageDecodeError, match="broken.png"):
        open_image(bad)
    buf = io.BytesIO()
    Image.new("L", (64, 64), 7).save(buf, "PNG")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(buf.getvalue()[:60])
    with pytest.raises(ValueError, match="trunc.png"):
        open_image(trunc)


def test_decode_error_survives_pickling(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(ImageDecodeError) as info:
        read_image_array(tmp_path / "bad.png")
    again = pickle.loads(pickle.dumps(info.value))  # as it crosses from a worker process
    assert type(again) is ImageDecodeError and str(again) == str(info.value)
    assert again.path == tmp_path / "bad.png"


def test_import_needs_no_torch():
    code = "import lesson7.data.images, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_decompression_bomb_is_a_clear_error_with_an_override(tmp_path, png, monkeypatch):
    path = png(tmp_path / "big.png", np.zeros((40, 40), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1600 px > 2 * 100: a "bomb"
    monkeypatch.delenv(ALLOW_LARGE_ENV, raising=False)
    with pytest.raises(ValueError, match=r"big\.png.*allow_large=True"):
        open_image(path)
    assert open_image(path, allow_large=True).shape == (3, 40, 40)
    assert Image.MAX_IMAGE_PIXELS == 100                  # the limit is restored
    monkeypatch.setenv(ALLOW_LARGE_ENV, "1")
    assert open_image(path, "L").shape == (1, 40, 40)


def test_decode_stack_drops_failures_and_keeps_order(tmp_path, png):
    paths = [png(tmp_path / f"{i}.png", np.full((5, 4), i, np.uint8)) for i in range(6)]
    (tmp_path / "3.png").write_bytes(b"garbage")
    res = decode_stack(paths, "L")
    assert list(res.failed) == [3] and "3.png" in res.failed[3]
    assert res.data.shape == (5, 1, 5, 4)
    assert res.data[:, 0, 0, 0].tolist() == [0, 1, 2, 4, 5]


def test_decode_stack_reports_shape_mismatch(tmp_path, png):
    paths = [png(tmp_path / f"{i}.png", np.zeros((5, 5 + (i == 2)), np.uint8)) for i in range(4)]
    res = decode_stack(paths, "L")
    assert res.data is None and res.mismatch == 2
    same = decode_stack(paths, "L", cover=8)  # resized to cover 8x8: still different shapes
    assert same.mismatch == 2


def test_decode_stack_process_pool_matches_serial(tmp_path, png):
    rng = np.random.default_rng(0)
    paths = [png(tmp_path / f"{i:04d}.png", rng.integers(0, 256, (3, 3))) for i in range(1100)]
    pooled = decode_stack(paths, "L", workers=2)
    serial = decode_stack(paths, "L", workers=1)
    assert pooled.data.shape == (1100, 1, 3, 3) and np.array_equal(pooled.data, serial.data)


def test_decode_stack_cache_is_reused_and_keyed_by_files(tmp_path, png):
    paths = [png(tmp_path / "img" / f"{i}.png", np.full((4, 4), i, np.uint8)) for i in range(3)]
    cache = tmp_path / "cache"
    first = decode_stack(paths, "L", cache_dir=cache)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and not any(".tmp" in f for f in files)
    npy = next(cache.glob("*.npy"))
    np.save(npy, np.full_like(first.data, 99))  # a reused cache returns what is stored
    assert (decode_stack(paths, "L", cache_dir=cache).data == 99).all()
    png(paths[0], np.full((4, 4), 50, np.uint8))  # changing a file changes the key
    again = decode_stack(paths, "L", cache_dir=cache)
    assert again.data[:, 0, 0, 0].tolist() == [50, 1, 2]


def test_unreadable_cache_is_ignored_with_a_warning(tmp_path, png):
    paths = [png(tmp_path / "img" / f"{i}.png", np.full((4, 4), i, np.uint8)) for i in range(3)]
    cache = tmp_path / "cache"
    decode_stack(paths, "L", cache_dir=cache)
    next(cache.glob("*.npy")).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable decode cache"):
        res = decode_stack(paths, "L", cache_dir=cache)
    assert res.data[:, 0, 0, 0].tolist() == [0, 1, 2]
