"""Checks on an uploaded photo before any pixel is decoded: is it an image, how many pixels.

A decompression bomb is a small file that claims a huge image (a 50 kB PNG can decode to
gigabytes). PIL's own guard (`Image.MAX_IMAGE_PIXELS`, ~89 Mpx warns, twice that raises) is a
process-wide global sized for trusted files; a server needs a far smaller, per-server cap.
So the header alone is read (`Image.open` decodes nothing), its size is compared with the
server's pixel cap, and the decode happens only below it: PIL's guard is then never reached,
and its error, raised at `Image.open` for the largest claims, gets the same message.
Refs: Pillow docs, `Image.open` "decompression bomb protection".
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from lesson7.data.images import open_pil_image

__all__ = ["UploadError", "display_name", "image_size", "decode_upload"]


class UploadError(ValueError):
    """An upload the server refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def display_name(name: str | None) -> str:
    """The upload's file name as the browser sent it, reduced to a safe, short base name."""
    base = Path(str(name or "")).name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?')[:100].strip()
    return base or "photo"


def _too_many(name: str, size: tuple[int, int], max_pixels: int) -> UploadError:
    w, h = size
    return UploadError(f"{name} is {w}x{h} px ({w * h / 1e6:.1f} megapixels); this server "
                       f"takes photos up to {max_pixels / 1e6:g} megapixels (lesson7 ui "
                       f"--max-megapixels): make it smaller first", status=413)


def image_size(path: Path, name: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) from the file's header; UploadError if it is no image or too large."""
    try:
        with Image.open(path) as im:  # the header only: nothing is decoded here
            size = im.size
    except Image.DecompressionBombError:
        raise UploadError(f"{name} claims more pixels than PIL will open (a decompression "
                          f"bomb?); this server takes photos up to {max_pixels / 1e6:g} "
                          "megapixels", status=413) from None
    except (OSError, SyntaxError, ValueError) as e:  # UnidentifiedImageError is an OSError
        raise UploadError(f"{name} is not an image this server can read (PNG, JPEG, WebP, "
                          f"TIFF, BMP, GIF...): {type(e).__name__}") from None
    if size[0] * size[1] > max_pixels:
        raise _too_many(name, size, max_pixels)
    return size


def decode_upload(path: Path, name: str, mode: str, max_pixels: int) -> Image.Image:
    """The upload decoded upright (EXIF) in `mode`, exactly as `lesson7 restore predict` decodes
    a file; the header is checked first, and the decoded size again (some formats differ)."""
    image_size(path, name, max_pixels)
    try:
        img = open_pil_image(path, mode, allow_large=False)
    except ValueError as e:  # ImageDecodeError: truncated or corrupt data
        reason = getattr(e, "reason", str(e))
        raise UploadError(f"{name} could not be decoded: {reason}") from None
    if img.width * img.height > max_pixels:
        raise _too_many(name, img.size, max_pixels)
    return img
