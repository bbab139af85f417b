"""`PNGWriter` / `write_png`: row blocks in, a PNG that Pillow decodes (CRCs checked) to the same
pixels out; the wrong row count is refused and leaves no file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lesson7.restore.png_writer import PNGWriter, write_png


def image(h: int, w: int, channels: int) -> np.ndarray:
    rng = np.random.default_rng(h * w + channels)
    yy, xx = np.mgrid[:h, :w]
    smooth = ((xx * 3 + yy * 2) % 256).astype(np.uint8)  # the Sub/Up/Paeth filters win here
    arr = np.stack([smooth, 255 - smooth, rng.integers(0, 256, (h, w), dtype=np.uint8)], -1)
    return arr[..., 0] if channels == 1 else arr


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("h, w, block", [(1, 1, 1), (7, 5, 3), (300, 401, 37), (64, 2000, 64)])
def test_decodes_to_the_same_pixels(h, w, block, channels):
    arr = image(h, w, channels)
    f = io.BytesIO()
    writer = PNGWriter(f, w, h, channels)
    for i in range(0, h, block):
        writer.write_rows(arr[i:i + block])
    writer.close()
    Image.open(io.BytesIO(f.getvalue())).verify()           # chunk CRCs and structure
    with Image.open(io.BytesIO(f.getvalue())) as im:
        assert im.mode == ("L" if channels == 1 else "RGB")
        np.testing.assert_array_equal(np.asarray(im), arr)


def test_wrong_rows_are_refused_and_leave_no_file(tmp_path):
    arr = image(10, 8, 3)
    with pytest.raises(ValueError, match="10 rows high but 6"):
        write_png(tmp_path / "short.png", (8, 10), [arr[:6]])
    with pytest.raises(ValueError, match="uint8 rows of shape"):
        write_png(tmp_path / "wide.png", (7, 10), [arr])
    assert list(tmp_path.iterdir()) == []                   # no partial or temporary file
    write_png(tmp_path / "ok.png", (8, 10), [arr[:4], arr[4:]])
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ok.png")), arr)
