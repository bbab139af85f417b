"""Fixtures of the web UI tests (the browser itself is the session-wide `browser` of
tests/conftest.py)."""

from __future__ import annotations

import zlib

import pytest


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

