"""A headless Chromium for the web UI's end-to-end tests: Debian's `chromium` driven by
playwright (never a downloaded browser); the tests skip, saying why, when it is not installed."""

from __future__ import annotations

import shutil
import zlib

import pytest


@pytest.fixture(scope="module")
def chromium_browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium): no browser to test in")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        yield browser
        browser.close()


def make_png_bomb(w: int = 9000, h: int = 9000) -> bytes:
    """A valid-looking PNG header claiming w x h px: a few kB that would decode to w*h*3 bytes
    (243 MB here, under PIL's own limit: only our cap stops it). The IDAT holds one row only:
    the header is all the server may read."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * (1 + 3 * w))) + chunk(b"IEND", b""))


@pytest.fixture
def png_bomb():
    """`png_bomb(w, h)`: the bytes of a small PNG claiming w x h px (default 9000 x 9000)."""
    return make_png_bomb

