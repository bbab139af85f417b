"""`lesson7 restore predict` (issue 11 items 5 and 6, issue 12 section 3): output names keep the
input's relative path and never clash, nothing is written into an input folder, existing
outputs are skipped, output size is capped, memory does not grow with the image, the streamed
result equals the whole-image one, and without a run folder the shipped model restores."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import whole_image_tiled
from PIL import Image
from torch import nn

from lesson7.cli import main
from lesson7.restore.predict import model_and_images
from lesson7.restore.restorer import Restorer, UnetConfig, pil_to_tensor, tensor_to_pil
from lesson7.restore.shipped import SHIPPED_MODEL_ENV

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tiny_restore_run) -> Path:
    return tiny_restore_run


def save(path: Path, width: int, height: int = 10, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (value, 255 - value, 60)).save(path)
    return path


def predict(*argv: str | Path) -> int:
    return main(["restore", "predict", *map(str, argv), "--device", "cpu", "--tile", "32",
                 "--overlap", "8"])


def width_of(path: Path) -> int:
    with Image.open(path) as im:
        return im.width


# -- 11.5: names, input folders, existing outputs ------------------------------------------------
def test_outputs_keep_relative_paths_and_never_clash(run, tmp_path):
    src = tmp_path / "in"
    save(src / "a.png", 20)
    save(src / "a.jpg", 24)
    save(src / "sub" / "a.png", 28)
    save(src / "b.JPG", 32)
    direct = save(tmp_path / "elsewhere" / "c.jpeg", 36)
    out = tmp_path / "pred"
    assert predict(run, src, direct, "--out", out) == 0
    # each input has its own output (widths tell them apart); a.jpg yields to a.png
    assert {p.relative_to(out).as_posix(): width_of(p) for p in out.rglob("*.png")} == {
        "a.png": 20, "a.jpg.png": 24, "sub/a.png": 28, "b.png": 32, "c.png": 36}


def test_existing_outputs_are_skipped_and_overwrite_redoes_them(run, tmp_path, capsys):
    src = tmp_path / "in"
    save(src / "a.png", 20)
    save(src / "b.png", 24)
    out = tmp_path / "pred"
    assert predict(run, src, "--out", out) == 0
    (out / "a.png").write_bytes(b"kept")                   # stands for a result we must not lose
    capsys.readouterr()
    assert predict(run, src, "--out", out) == 0
    said = capsys.readouterr().out
    assert "a.png: already there, skipped" in said and "0 restored, 2 skipped" in said
    assert (out / "a.png").read_bytes() == b"kept"
    assert predict(run, src, "--out", out, "--overwrite") == 0
    assert width_of(out / "a.png") == 20
    assert "2 restored, 0 skipped" in capsys.readouterr().out


def test_never_writes_into_an_input_folder(run, tmp_path, capsys):
    src = tmp_path / "in"
    save(src / "a.png", 20)
    for out in (src, src / "pred"):                         # --out is, or is inside, an input folder
        assert predict(run, src, "--out", out) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "inside the input folder" in err
    # --out holds the input folder, and an output would land inside it: o/in/in/x.png -> o/in/x.png
    nested = save(tmp_path / "o" / "in" / "in" / "x.png", 20).parents[1]
    assert predict(run, nested, "--out", tmp_path / "o") == 2
    assert "into an input folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["a.png", "x.png"]  # nothing new


def test_inputs_that_would_share_an_output_are_refused(run, tmp_path, capsys):
    one, two = save(tmp_path / "one" / "x.png", 20), save(tmp_path / "two" / "x.png", 24)
    assert predict(run, one.parent, two.parent, "--out", tmp_path / "pred") == 2
    err = capsys.readouterr().err
    assert str(one) in err and str(two) in err and "separate --out" in err
    assert not (tmp_path / "pred").exists()


# -- 11.6: output size cap ------------------------------------------------------------------------
def test_output_larger_than_the_cap_is_refused_naming_image_size_and_flag(run, tmp_path, capsys):
    big, small = save(tmp_path / "in" / "big.png", 40, 40), save(tmp_path / "in" / "small.png", 20)
    out = tmp_path / "pred"
    assert predict(run, big.parent, "--out", out, "--max-megapixels", "0.001") == 1  # 1000 px
    err = capsys.readouterr().err
    assert f"FAILED {big}" in err and "40x40 px" in err and "--max-megapixels 0.001" in err
    assert not (out / "big.png").exists()
    assert width_of(out / "small.png") == 20                # the other image is still restored
    # the default cap (100 Mpx): x1000 of 20x10 would be 20000x10000; refused at once
    assert predict(run, small, "--out", tmp_path / "p2", "--scale", "1000") == 1
    assert "20000x10000 px (200.0 megapixels)" in capsys.readouterr().err
    assert not (tmp_path / "p2" / "small.png").exists()


# -- issue 12: the shipped model --------------------------------------------------------------------
def test_without_a_run_folder_the_shipped_model_restores(run, tmp_path, monkeypatch, capsys):
    photo = save(tmp_path / "photo.jpg", 20)
    monkeypatch.setenv(SHIPPED_MODEL_ENV, str(run / "model.safetensors"))
    assert predict(photo, "--out", tmp_path / "out") == 0
    assert width_of(tmp_path / "out" / "photo.png") == 20
    missing = tmp_path / "nowhere" / "restorer_x4.safetensors"
    monkeypatch.setenv(SHIPPED_MODEL_ENV, str(missing))
    assert predict(photo, "--out", tmp_path / "out2") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err and "RUN IMAGES" in err


def test_scale_1_without_a_run_uses_the_shipped_same_size_restorer(tmp_path, monkeypatch):
    from lesson7.restore.shipped import shipped_model_path

    monkeypatch.delenv(SHIPPED_MODEL_ENV, raising=False)
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (18, 26, 3), dtype=np.uint8)).save(photo)
    assert predict(photo, "--out", tmp_path / "out", "--scale", "1") == 0
    got = np.asarray(Image.open(tmp_path / "out" / "photo.png"))
    same_size = Restorer.load(shipped_model_path(1)).restore(Image.open(photo))
    x4_resized = Restorer.load(shipped_model_path(4)).restore(Image.open(photo), scale=1)
    assert got.shape == (18, 26, 3)
    assert np.array_equal(got, np.asarray(same_size))
    assert not np.array_equal(got, np.asarray(x4_resized))


def test_which_path_is_the_model(run, tmp_path):
    photo = save(tmp_path / "photos" / "p.png", 20)
    assert model_and_images([run, photo]) == (run, [photo])
    assert model_and_images([run / "model.safetensors", photo.parent]) == (
        run / "model.safetensors", [photo.parent])
    assert model_and_images([run / "model", photo]) == (run / "model", [photo])  # X.safetensors
    assert model_and_images([run / "model.json", photo]) == (run / "model.json", [photo])
    assert model_and_images([photo.parent, photo]) == (None, [photo.parent, photo])
    assert model_and_images([photo]) == (None, [photo])
    with pytest.raises(ValueError, match="no restore checkpoint or image at"):
        model_and_images([tmp_path / "typo", photo])
    with pytest.raises(ValueError, match="no images given after the model"):
        model_and_images([run])


# -- 11.6: streaming: the same pixels as the whole-image path, memory bounded by the band -----------


def whole_image_restore(r: Restorer, img: Image.Image, scale, tile, overlap) -> Image.Image:
    """The pre-streaming `Restorer.restore`: resize the whole image, tile it, resize the output."""
    target = (round(img.width * scale), round(img.height * scale))
    x = pil_to_tensor(img if r.cfg.upscale > 1 else img.resize(target, Image.Resampling.BICUBIC))
    out = whole_image_tiled(r.model, (x - r.mean) / r.std, tile, overlap, r.cfg.upscale)
    out = tensor_to_pil(out * r.std + r.mean)
    return out.resize(target, Image.Resampling.LANCZOS) if out.size != target else out


def photo_like(w: int, h: int) -> Image.Image:
    """Smooth gradients plus mild texture, like a photo (no clipped overshoot at every pixel)."""
    yy, xx = np.mgrid[:h, :w]
    noise = np.random.default_rng(0).normal(0, 12, (h, w, 3))
    arr = np.stack([xx * 200 / w, yy * 200 / h, (xx + yy) * 100 / (w + h)], -1) + 28 + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("upscale, scale", [(1, 1.0), (1, 2.0), (2, 2.0), (4, 2.0), (4, 1.0)])
@torch.no_grad()
def test_streamed_equals_whole_image_within_one_level(upscale, scale, tmp_path):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 3 * upscale**2, 3, padding=1)    # a 1-px receptive field: seams would show
    model = nn.Sequential(conv, nn.PixelShuffle(upscale))
    r = Restorer(model, UnetConfig(upscale=upscale))
    img = photo_like(150, 97)
    tile = 40 if upscale == 1 and scale == 1 else 24    # several bands and columns of tiles
    ref = np.asarray(whole_image_restore(r, img, scale, tile, 12)).astype(int)
    streamed = np.asarray(r.restore(img, scale, tile, 12)).astype(int)
    assert streamed.shape == ref.shape
    assert np.abs(streamed - ref).max() <= 1 and (streamed != ref).mean() < 1e-3


MEMORY_SCRIPT = textwrap.dedent("""
    import os, resource, sys
    import numpy as np, torch
    from PIL import Image
    from torch import nn
    from lesson7.restore.png_writer import write_png
    from lesson7.restore.restorer import Restorer, UnetConfig
    torch.set_num_threads(1)
    conv = nn.Conv2d(3, 3, 1)                      # a cheap stand-in for the model: identity
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3)[:, :, None, None])
        conv.bias.zero_()
    r = Restorer(conv, UnetConfig())
    def restore(img, dest):
        write_png(dest, r.output_size(img.size), r.restore_rows(img, 1.0, 256, 32))
    def pattern(h, w):                             # uint8 arithmetic wraps: values mod 256
        x, y = np.arange(w).astype(np.uint8), np.arange(h).astype(np.uint8)
        return np.stack(np.broadcast_arrays(x[None], y[:, None], x[None] + 2 * y[:, None]), -1)
    def rss_mb():
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    out = sys.argv[1]
    restore(Image.new("RGB", (300, 200)), out + "/warm.png")
    for height in (2000, 6000):
        img = Image.fromarray(pattern(height, 3000))
        pid = os.fork()   # the child's peak RSS starts at its RSS now: the parent's imports don't count
        if pid == 0:
            before = rss_mb()
            restore(img, f"{out}/{height}.png")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(height, round(peak - before, 1), flush=True)
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork + /proc/self/statm")
def test_memory_is_bounded_by_the_band_not_the_image(tmp_path):
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}  # freed buffers go back to the OS
    res = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    delta = {int(h): float(mb) for h, mb in (line.split() for line in res.stdout.split("\n") if line)}
    full_accumulator = 6000 * 3000 * 3 * 4 / 2**20         # one float32 image: 206 MB
    assert delta[6000] < full_accumulator / 3               # measured ~55 MB (tile 256 x 3000 px)
    assert delta[6000] < delta[2000] + 15                   # 3x the rows, about the same memory
    for h in (2000, 6000):
        with Image.open(tmp_path / f"{h}.png") as im:
            assert im.size == (3000, h)
    with Image.open(tmp_path / "2000.png") as im:
        restored = np.asarray(im).astype(int)              # decodes, and is the identity's output
    x, y = np.arange(3000), np.arange(2000)[:, None]
    expected = np.stack(np.broadcast_arrays(x % 256, y % 256, (x + 2 * y) % 256), -1)
    assert np.abs(restored - expected).max() <= 1
