"""crappify: the lesson's function, determinism with a seed, failures reported (B8), skipping,
never writing into SRC, any callable, draft decoding, Ctrl-C, a torch-free import; plus LR/HR
pairing and the bicubic track."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import default_sigint
from PIL import Image

from lesson7.data.crappify import (
    LessonCrappifier,
    RealCrappifier,
    SuperresCrappifier,
    crappify_file,
    crappify_folder,
    file_seed,
    make_crappifier,
)
from lesson7.data.pairs import BicubicDegrader, bicubic_degrade, find_pairs, modcrop

SHARED = Path(os.environ.get("LESSON7_SHARED",
                            Path(__file__).resolve().parents[2] / ".." / "shared"))


def _photo(w=160, h=120, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w, y / h, 0.5 + 0.5 * np.sin(x / 7.0 + seed)], -1) * 200
    noise = rng.normal(0, 8, (h, w, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


@pytest.fixture
def src(tmp_path) -> Path:
    d = tmp_path / "src"
    (d / "sub").mkdir(parents=True)
    _photo(seed=1).save(d / "a.jpg", quality=95)
    _photo(120, 160, seed=2).save(d / "sub" / "b.jpg", quality=95)
    _photo(seed=3).save(d / "c.png")
    (d / "notes.txt").write_text("not an image")
    return d


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_lesson_crappifier_size_text_and_quality():
    img = _photo()
    out, q = LessonCrappifier()(img.copy(), random.Random(0))
    assert min(out.size) == 96 and out.size == (128, 96)
    assert 10 <= q <= 70
    plain, q2 = LessonCrappifier(text=False)(img.copy(), random.Random(0))
    assert q2 == q  # the quality is drawn first, then the position
    diff = np.abs(np.asarray(out, np.int16) - np.asarray(plain, np.int16)).sum(-1)
    ys, xs = np.nonzero(diff)
    assert len(ys) > 10, "the quality number was not drawn"
    # anchored at the lesson's draw: q, then x in [0, w/2], y in [0, h/2] (top-left quarter)
    replay = random.Random(0)
    assert replay.randint(10, 70) == q
    x0, y0 = replay.randint(0, 128 // 2), replay.randint(0, 96 // 2)
    assert x0 <= xs.min() <= x0 + 3 and y0 <= ys.min() <= y0 + 4  # glyph side bearings
    assert np.asarray(out)[ys, xs].max() >= 240  # white (anti-aliased glyphs)


def test_quality_range_is_inclusive():
    qs = {LessonCrappifier(quality=(10, 12), text=False)(_photo(32, 32), random.Random(s))[1]
          for s in range(60)}
    assert qs == {10, 11, 12}


def test_superres_mode_is_q60_without_text():
    out, q = SuperresCrappifier()(_photo(), random.Random(0))
    assert q == 60 and min(out.size) == 96


def test_make_crappifier_validates_flags():
    with pytest.raises(ValueError, match="unknown crappify mode 'bad'"):
        make_crappifier("bad")
    with pytest.raises(ValueError, match="--quality"):
        make_crappifier("lesson", quality=(80, 20))
    assert make_crappifier("superres", size=64).size == 64


def test_real_crappifier_output_size_and_damage():
    img = _photo(400, 300)
    result = RealCrappifier()(img, random.Random(3))
    out = result[0] if isinstance(result, tuple) else result
    assert out.size == (128, 96)
    ref = np.asarray(img.resize((128, 96), Image.Resampling.BICUBIC), np.float32)
    assert np.abs(np.asarray(out, np.float32) - ref).mean() > 3  # visibly degraded


def test_folder_keeps_relative_paths_and_is_deterministic(src, tmp_path):
    r1 = crappify_folder(src, tmp_path / "o1", workers=1, seed=7, progress=False)
    r2 = crappify_folder(src, tmp_path / "o2", workers=2, seed=7, progress=False)
    assert r1.ok and r2.ok
    assert sorted(map(str, r1.written)) == ["a.jpg", "c.png", "sub/b.jpg"]
    for rel in r1.written:
        assert np.array_equal(_pixels(tmp_path / "o1" / rel), _pixels(tmp_path / "o2" / rel))
    assert Image.open(tmp_path / "o1" / "c.png").format == "PNG"  # JPEG damage, lossless file
    assert Image.open(tmp_path / "o1" / "a.jpg").format == "JPEG"
    r3 = crappify_folder(src, tmp_path / "o3", workers=1, seed=8, progress=False)
    other = _pixels(tmp_path / "o3" / "a.jpg")
    assert not np.array_equal(_pixels(tmp_path / "o1" / "a.jpg"), other)
    assert r3.ok


def test_seed_per_file_depends_on_relative_path_only():
    assert file_seed(1, "a/b.jpg") == file_seed(1, Path("a") / "b.jpg")
    assert file_seed(1, "a/b.jpg") != file_seed(1, "a/c.jpg") != file_seed(2, "a/c.jpg")


def test_failures_are_reported_and_good_outputs_kept(src, tmp_path):
    (src / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    report = crappify_folder(src, tmp_path / "out", workers=2, seed=0, progress=False)
    assert not report.ok
    assert [str(p) for p, _ in report.failed] == ["broken.jpg"]
    assert "broken.jpg" in report.summary() and "cannot" in report.failed[0][1].lower()
    assert len(report.written) == 3
    assert (tmp_path / "out" / "sub" / "b.jpg").is_file()
    assert not list((tmp_path / "out").rglob("*.part"))  # atomic writes leave no debris


@pytest.mark.parametrize("draft", [True, False])
def test_a_truncated_jpeg_is_named_and_skipped_in_a_pool(src, tmp_path, draft):
    data = (src / "a.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(data[: len(data) // 2])
    report = crappify_folder(src, tmp_path / "out", workers=2, seed=0, progress=False,
                             draft=draft)
    assert [str(p) for p, _ in report.failed] == ["truncated.jpg"]
    assert "truncated.jpg" in report.failed[0][1] and "BrokenProcessPool" not in report.summary()
    assert sorted(map(str, report.written)) == ["a.jpg", "c.png", "sub/b.jpg"]
    assert not list((tmp_path / "out").rglob("*.part"))


def test_an_unpicklable_worker_error_is_reported_as_text(src, tmp_path):
    class Unpicklable(Exception):
        def __init__(self, a, b):  # pickle re-creates it with one argument and fails
            super().__init__(f"{a}/{b}")

    def fails_on_c(img, rng):
        if img.size == (160, 120) and img.getpixel((0, 0)) == _photo(seed=3).getpixel((0, 0)):
            raise Unpicklable("c", "png")
        return img

    report = crappify_folder(src, tmp_path / "out", fails_on_c, workers=2, seed=0,
                             progress=False)
    assert report.failed == [(Path("c.png"), "Unpicklable: c/png")]
    assert len(report.written) == 2


def test_lists_images_by_the_one_rule(src, tmp_path):
    (src / "._a.jpg").write_bytes(b"AppleDouble metadata, not a JPEG")
    (src / ".cache").mkdir()
    _photo(32, 32).save(src / ".cache" / "x.jpg")
    _photo(32, 32).save(src / "UPPER.JPG")
    report = crappify_folder(src, tmp_path / "out", workers=1, seed=0, progress=False)
    assert report.ok
    assert sorted(map(str, report.written)) == ["UPPER.JPG", "a.jpg", "c.png", "sub/b.jpg"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files found under"):
        crappify_folder(tmp_path / "empty", tmp_path / "out2", progress=False)


_SLOW_RUN = """
import sys, time
from lesson7.data.crappify import crappify_folder

def slow(img, rng):
    time.sleep(0.05)
    return img

crappify_folder(sys.argv[1], sys.argv[2], slow, workers=2, seed=0, progress=False)
"""


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_stops_a_pool_promptly_and_leaves_no_partial_files(tmp_path):
    src, dst, n = tmp_path / "src", tmp_path / "dst", 400  # ~10 s of work for 2 workers
    src.mkdir()
    for i in range(n):
        Image.new("RGB", (16, 16), (i % 256, 0, 0)).save(src / f"{i:03d}.png")
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, str(src), str(dst)],
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=default_sigint)

    def done() -> int:
        return len(list(dst.glob("*.png"))) if dst.is_dir() else 0

    deadline = time.monotonic() + 60
    while done() < 4:  # the pool is running
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "crappify did not start"
        time.sleep(0.02)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    assert elapsed < 4, f"took {elapsed:.1f} s to stop"
    assert done() < n // 2
    assert not list(dst.glob(".*.part"))


def test_a_crashing_callable_is_reported_per_file(src, tmp_path):
    def boom(img, rng):
        raise RuntimeError("boom")

    report = crappify_folder(src, tmp_path / "out", boom, workers=2, seed=0, progress=False)
    assert len(report.failed) == 3 and all("RuntimeError: boom" in why for _, why in report.failed)


def test_any_callable_even_a_closure_in_worker_processes(src, tmp_path):
    factor = 4

    def halve(img, rng):  # a closure: not picklable, reaches workers by fork
        return img.resize((img.width // factor, img.height // factor))

    report = crappify_folder(src, tmp_path / "out", halve, workers=2, seed=0, progress=False)
    assert report.ok
    assert Image.open(tmp_path / "out" / "a.jpg").size == (40, 30)


def test_skip_existing_unless_overwrite(src, tmp_path):
    out = tmp_path / "out"
    crappify_folder(src, out, workers=1, seed=0, progress=False)
    stamp = (out / "a.jpg").stat().st_mtime_ns
    again = crappify_folder(src, out, workers=1, seed=0, progress=False)
    assert len(again.skipped) == 3 and not again.written
    assert (out / "a.jpg").stat().st_mtime_ns == stamp
    redo = crappify_folder(src, out, workers=1, seed=0, overwrite=True, progress=False)
    assert len(redo.written) == 3


def test_never_writes_into_src(src):
    before = sorted(p.name for p in src.rglob("*"))
    for dst in (src, src / "crappy"):
        with pytest.raises(ValueError, match="must not be SRC"):
            crappify_folder(src, dst, progress=False)
    with pytest.raises(ValueError, match="must not be SRC"):
        crappify_folder(src, src.parent, progress=False)
    assert sorted(p.name for p in src.rglob("*")) == before


def test_draft_decoding_matches_full_decoding_closely(tmp_path):
    big = tmp_path / "big.jpg"
    _photo(800, 600).save(big, quality=95)
    crap = LessonCrappifier(quality=(95, 95), text=False)
    crappify_file(big, tmp_path / "fast.png", crap, seed=0, draft=True)
    crappify_file(big, tmp_path / "slow.png", crap, seed=0, draft=False)
    a, b = _pixels(tmp_path / "fast.png"), _pixels(tmp_path / "slow.png")
    assert a.shape == b.shape == (96, 128, 3)
    assert np.abs(a - b).mean() < 4


def test_exif_orientation_respected(tmp_path):
    img = _photo(160, 120)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes())
    crappify_file(tmp_path / "r.jpg", tmp_path / "o.jpg", LessonCrappifier(), seed=0)
    assert Image.open(tmp_path / "o.jpg").size == (96, 128)  # portrait, as displayed


def test_odd_modes_are_converted(tmp_path):
    _photo().convert("CMYK").save(tmp_path / "cmyk.jpg")
    _photo().convert("RGBA").save(tmp_path / "rgba.png")
    _photo().convert("P").save(tmp_path / "pal.png")
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(
        tmp_path / "g16.png")
    for name in ("cmyk.jpg", "rgba.png", "pal.png", "g16.png"):
        crappify_file(tmp_path / name, tmp_path / "out" / name, SuperresCrappifier(), seed=0)
        assert Image.open(tmp_path / "out" / name).mode == "RGB"


# -- pairs -------------------------------------------------------------------------------------
def test_find_pairs_by_path_and_stem_and_lists_orphans(tmp_path):
    lr, hr = tmp_path / "lr", tmp_path / "hr"
    for d in (lr / "x", hr / "x"):
        d.mkdir(parents=True)
    for p in (lr / "a.png", lr / "x" / "b.png", hr / "a.png", hr / "x" / "b.jpg"):
        _photo(32, 32).save(p)
    pairs = find_pairs(lr, hr)
    assert [(a.name, b.name) for a, b in pairs] == [("a.png", "a.png"), ("b.png", "b.jpg")]
    _photo(32, 32).save(lr / "orphan.png")
    with pytest.raises(ValueError, match=r"1 LR images without a matching HR image:\n  .*orphan"):
        find_pairs(lr, hr)


def test_find_pairs_skips_hidden_files(tmp_path):
    lr, hr = tmp_path / "lr", tmp_path / "hr"
    for d in (lr, hr):
        d.mkdir()
        _photo(32, 32).save(d / "a.png")
    (lr / "._a.png").write_bytes(b"AppleDouble metadata")  # would be an orphan if listed
    assert [(a.name, b.name) for a, b in find_pairs(lr, hr)] == [("a.png", "a.png")]


def test_import_needs_no_torch_or_matplotlib():
    code = ("import lesson7.data.crappify, lesson7.data.pairs, sys; "
            "heavy = [m for m in ('torch', 'matplotlib') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bicubic_degrade_modcrops_and_restores_size():
    hr, lr, up = bicubic_degrade(_photo(161, 123), 4)
    assert hr.size == up.size == (160, 120) and lr.size == (40, 30)
    assert modcrop(_photo(10, 7), 3).size == (9, 6)
    assert BicubicDegrader(4)(_photo(161, 123)).size == (161, 123)


@pytest.mark.realdata
def test_set5_bicubic_x4_baseline_matches_the_literature():
    import torch

    from lesson7.quality import psnr_y

    set5 = SHARED / "datasets" / "set5"
    files = sorted(set5.glob("*.png"))
    if len(files) != 5:
        pytest.skip("Set5 absent")

    def t(im):
        return torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255

    scores = []
    for f in files:
        hr, _, up = bicubic_degrade(Image.open(f).convert("RGB"), 4)
        scores.append(psnr_y(t(up), t(hr), 4).item())
    assert np.mean(scores) == pytest.approx(28.42, abs=0.05)  # RCAN paper (Zhang et al. 2018): 28.42 (MATLAB)
