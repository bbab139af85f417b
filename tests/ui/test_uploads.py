"""Upload checks without a server: names made safe, sizes read from the header only."""

from __future__ import annotations

import pytest
from PIL import Image

from lesson7.ui.uploads import UploadError, display_name, image_size


@pytest.mark.parametrize("sent, shown", [
    ("holiday.jpg", "holiday.jpg"), ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\scan.png", "scan.png"), ('a"b<c>.png', "abc.png"), ("", "photo"),
    (None, "photo"), ("x" * 300 + ".jpg", "x" * 100),
])
def test_display_name_is_a_short_safe_base_name(sent, shown):
    assert display_name(sent) == shown


def test_image_size_reads_the_header_and_applies_the_cap(tmp_path, png_bomb):
    ok = tmp_path / "ok.png"
    Image.new("RGB", (40, 25)).save(ok)
    assert image_size(ok, "ok.png", max_pixels=1000) == (40, 25)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(9000, 9000))
    with pytest.raises(UploadError, match=r"bomb.png is 9000x9000 px") as e:
        image_size(bomb, "bomb.png", max_pixels=2_000_000)
    assert e.value.status == 413
