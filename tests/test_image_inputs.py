"""Property test (issue 11): every image-reading entry point, fed random bytes, truncated PNG/JPEG
files and odd modes (P, LA, I;16, I, F, 1, CMYK, RGBA...), either gives a valid output or raises
a ValueError naming the file; never another exception, never a partial output file.

Entry points: `open_pil_image`, `read_image_array`, `crappify_file`, and `predict_images`
(`lesson7 restore predict`, which lists failures by name instead of raising)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lesson7.configs.restore import PredictConfig
from lesson7.data.crappify import crappify_file, make_crappifier
from lesson7.data.images import open_pil_image, read_image_array
from lesson7.restore.predict import predict_images

pytestmark = pytest.mark.usefixtures("one_thread")

# mode -> a format that stores it
MODES = {"1": "PNG", "L": "PNG", "LA": "PNG", "P": "PNG", "RGB": "PNG", "RGBA": "PNG",
         "I;16": "PNG", "I": "TIFF", "F": "TIFF", "CMYK": "JPEG"}
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif"}


@st.composite
def image_files(draw) -> tuple[str, bytes]:
    """(file suffix, file bytes): random bytes, a truncated PNG/JPEG, or a whole odd-mode image."""
    kind = draw(st.sampled_from(["random", "truncated", "mode"]))
    if kind == "random":
        return draw(st.sampled_from([".png", ".jpg", ".gif", ".tif"])), draw(st.binary(max_size=600))
    w, h = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    pixels = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, (h, w, 4))
    if kind == "truncated":
        fmt, mode = draw(st.sampled_from([("PNG", "RGB"), ("JPEG", "RGB"), ("PNG", "P")]))
    else:
        mode = draw(st.sampled_from(sorted(MODES)))
        fmt = MODES[mode]
    img = Image.fromarray(pixels[..., :3].astype(np.uint8)).convert(mode)
    if mode == "RGBA":
        img.putalpha(Image.fromarray(pixels[..., 3].astype(np.uint8)))
    buf = io.BytesIO()
    img.save(buf, fmt)
    data = buf.getvalue()
    if kind == "truncated":
        data = data[:draw(st.integers(0, len(data) - 1))]
    return SUFFIX[fmt], data


def write(folder: Path, name: str, file: tuple[str, bytes]) -> Path:
    path = folder / f"{name}{file[0]}"
    path.write_bytes(file[1])
    return path


def named_value_error(error: BaseException, path: Path) -> bool:
    return isinstance(error, ValueError) and str(path) in str(error)


FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(file=image_files(), mode=st.sampled_from(["L", "RGB"]))
def test_open_and_read_give_an_image_or_name_the_file(file, mode):
    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d), "x", file)
        try:
            img = open_pil_image(path, mode)
        except Exception as e:  # noqa: BLE001 - the property is about which exceptions escape
            assert named_value_error(e, path), f"{type(e).__name__}: {e}"
        else:
            assert img.mode == mode and img.width > 0 and img.height > 0
        try:
            arr = read_image_array(path, mode, cover=8)
        except Exception as e:  # noqa: BLE001
            assert named_value_error(e, path), f"{type(e).__name__}: {e}"
        else:
            assert arr.dtype == np.uint8 and arr.shape[0] == (1 if mode == "L" else 3)
            assert min(arr.shape[1:]) >= 8


@FAST
@given(file=image_files(), draft=st.booleans())
def test_crappify_writes_a_whole_image_or_names_the_file(file, draft):
    with tempfile.TemporaryDirectory() as d:
        src = write(Path(d), "x", file)
        out = Path(d) / "out"
        dest = out / "x.jpg"
        try:
            crappify_file(src, dest, make_crappifier("lesson", size=8), seed=0, draft=draft)
        except Exception as e:  # noqa: BLE001
            assert named_value_error(e, src), f"{type(e).__name__}: {e}"
            assert not out.exists() or list(out.iterdir()) == []  # no partial or temporary file
        else:
            assert [p.name for p in out.iterdir()] == ["x.jpg"]
            with Image.open(dest) as im:
                im.load()
                assert min(im.size) == 8


@pytest.fixture(scope="module")
def tiny_run(tiny_restore_run) -> Path:
    return tiny_restore_run


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(image_files(), min_size=1, max_size=4))
def test_predict_restores_or_lists_each_file_by_name(tiny_run, files):
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in", Path(d) / "out"
        src.mkdir()
        paths = [write(src, f"img{i}", f) for i, f in enumerate(files)]
        cfg = PredictConfig(paths=[tiny_run, src], out=out, tile=32, overlap=8, device="cpu")
        failures = dict(predict_images(cfg))                # any other exception fails the test
        written = {p.relative_to(out) for p in out.rglob("*")} if out.exists() else set()
        assert written == {Path(p.name).with_suffix(".png") for p in paths if p not in failures}
        for p in paths:
            if p in failures:
                assert failures[p]                          # a reason, printed after the name
            else:
                with Image.open(out / p.with_suffix(".png").name) as im:
                    im.load()                               # complete, decodable
                assert im.size == open_pil_image(p).size    # x1 model: the input's size

