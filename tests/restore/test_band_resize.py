"""`resize_band` / `resize_rows`: Pillow's resize of an image computed a band of rows at a time
equals the whole-image resize (bicubic and Lanczos, up and down, grey and RGB): exactly when
the heights are whole multiples (x2, x4, /2: the restorer's usual case), else up to a rare
one-level difference (Pillow takes `box=` as float32)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lesson7.restore.band_resize import resize_band, resize_rows

BICUBIC, LANCZOS = Image.Resampling.BICUBIC, Image.Resampling.LANCZOS


def photo(w: int, h: int, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)   # worst case: every pixel an edge
    return arr[..., 0] if channels == 1 else arr


@pytest.mark.parametrize("size, scale", [((131, 97), 2.0), ((131, 97), 3.3), ((131, 97), 0.5),
                                         ((400, 300), 0.25), ((60, 80), 1.5)])
@pytest.mark.parametrize("channels", [1, 3])
def test_band_by_band_equals_whole_image(size, scale, channels):
    arr = photo(*size, channels)
    new = (round(size[0] * scale), round(size[1] * scale))
    tol = 0.0 if new[1] % size[1] == 0 or size[1] % new[1] == 0 else 0.01  # pixels off by one

    def close(got: np.ndarray, ref: np.ndarray) -> bool:
        return np.abs(got - ref).max() <= 1 and (got != ref).mean() <= tol
    for resample in (BICUBIC, LANCZOS):
        ref = np.asarray(Image.fromarray(arr).resize(new, resample)).astype(int)
        bands = [np.asarray(resize_band(Image.fromarray(arr), new, y0, min(y0 + 13, new[1]),
                                        resample)) for y0 in range(0, new[1], 13)]
        for step in (1, 16, size[1]):
            blocks = (arr[i:i + step] for i in range(0, size[1], step))
            rows = np.concatenate(list(resize_rows(blocks, size, new, resample))).astype(int)
            assert rows.shape == ref.shape and close(rows, ref)
        assert close(np.concatenate(bands).astype(int), ref)


def test_missing_rows_are_an_error():
    arr = photo(20, 10)
    with pytest.raises(ValueError, match="got 5 of 10 rows"):
        list(resize_rows([arr[:5]], (20, 10), (10, 5)))
