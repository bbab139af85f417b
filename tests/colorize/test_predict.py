"""`lesson7 colorize PHOTO|FOLDER --out DIR`: grey photos coloured at full size, colour photos
reported and skipped (or made grey with --force), folders resumed, failures named, and a clear
message when no shipped colorizer is installed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import colour_photo, grey_photo
from PIL import Image, ImageOps

from lesson7.cli import main
from lesson7.colorize.predict import COLOUR_SPREAD, colour_spread, has_colour
from lesson7.colorize.shipped import SHIPPED_COLORIZER_ENV, shipped_colorizer_path

pytestmark = pytest.mark.usefixtures("one_thread")


def test_colour_spread_tells_grey_toned_and_colour_apart():
    grey = grey_photo(120, 90)
    assert colour_spread(grey) == 0.0
    assert colour_spread(grey.convert("RGB")) < 0.5
    sepia = ImageOps.colorize(grey, black="#2b1a0b", white="#f3e3c3")  # toned in one colour
    assert 0 < colour_spread(sepia) < COLOUR_SPREAD and not has_colour(sepia)
    assert has_colour(colour_photo(120, 90))


@pytest.mark.realdata
def test_realdata_every_bsd100_photo_counts_as_colour():
    from conftest import shared_path

    from lesson7.data.items import get_image_files

    files = get_image_files(shared_path("datasets", "bsds500", "val"))[:20]
    spreads = [colour_spread(Image.open(f)) for f in files]
    assert min(spreads) > COLOUR_SPREAD
    assert all(colour_spread(Image.open(f).convert("L").convert("RGB")) < 1 for f in files[:5])


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    grey_photo(60, 50, seed=1).save(d / "a.jpg", quality=95)
    grey_photo(50, 60, seed=2).convert("RGB").save(d / "sub" / "b.png")
    colour_photo(64, 48, seed=3).save(d / "c.jpg", quality=95)
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    return d


def test_folder_colours_grey_skips_colour_and_names_failures(photos, tmp_path,
                                                             tiny_colorizer_run, capsys):
    out = tmp_path / "out"
    rc = main(["colorize", str(photos), "--out", str(out), "--model", str(tiny_colorizer_run),
               "--device", "cpu"])
    text = capsys.readouterr()
    assert rc == 1  # one failure
    assert "FAILED" in text.err and "broken.jpg" in text.err
    assert "c.jpg: already has colour" in text.out and "--force" in text.out
    assert "2 colorized, 0 skipped (already there), 1 skipped (already colour" in text.out
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["a.png",
                                                                               "sub/b.png"]
    a = Image.open(out / "a.png")
    assert a.mode == "RGB" and a.size == (60, 50)
    src_l = np.asarray(Image.open(photos / "a.jpg").convert("L"))
    assert np.array_equal(np.asarray(a.convert("L")), src_l)   # its luminance, unchanged
    # Run again: what is done is skipped; --force colours the colour photo (grey first).
    rc = main(["colorize", str(photos), "--out", str(out), "--model", str(tiny_colorizer_run),
               "--device", "cpu", "--force", "--render-size", "32"])
    text = capsys.readouterr()
    assert "1 colorized, 2 skipped (already there)" in text.out
    c = Image.open(out / "c.png")
    assert c.size == (64, 48)
    assert np.array_equal(np.asarray(c.convert("L")),
                          np.asarray(Image.open(photos / "c.jpg").convert("L")))


def test_single_photo_and_refusals(photos, tmp_path, tiny_colorizer_run, capsys):
    out = tmp_path / "one"
    assert main(["colorize", str(photos / "a.jpg"), "--out", str(out), "--model",
                 str(tiny_colorizer_run), "--device", "cpu"]) == 0
    assert (out / "a.png").is_file()
    capsys.readouterr()
    assert main(["colorize", str(photos), "--out", str(photos / "inside"), "--model",
                 str(tiny_colorizer_run)]) == 2
    assert "inside the input folder" in capsys.readouterr().err
    assert main(["colorize", str(photos / "a.jpg"), "--out", str(out), "--model",
                 str(photos)]) == 2
    assert "no colorizer at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["colorize", str(photos / "a.jpg"), "--out", str(out), "--render-size", "8"])
    assert e.value.code == 2
    assert "--render-size must be >= 16" in capsys.readouterr().err


def test_no_shipped_colorizer_says_what_to_do(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SHIPPED_COLORIZER_ENV, str(tmp_path / "none.safetensors"))
    with pytest.raises(ValueError, match="no shipped colorizer is installed"):
        shipped_colorizer_path()
    assert main(["colorize", str(photos / "a.jpg"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no shipped colorizer is installed" in err and "--model RUN" in err


def test_shipped_colorizer_is_used_without_model(photos, tmp_path, monkeypatch,
                                                 tiny_colorizer_run):
    monkeypatch.setenv(SHIPPED_COLORIZER_ENV, str(tiny_colorizer_run / "model.safetensors"))
    assert main(["colorize", str(photos / "a.jpg"), "--out", str(tmp_path / "o"),
                 "--device", "cpu"]) == 0
    assert (tmp_path / "o" / "a.png").is_file()


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = capsys.readouterr().out
    assert "colorize [predict] PATHS --out DIR" in text and "{predict,train,eval}" in text
