"""Pillow: checking uploaded images (show artwork, episode art, people's photos)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}


class ImageError(ValueError):
    """An image refused, with a message a host understands."""


@dataclass(frozen=True)
class ImageInfo:
    """A checked image: its type, the extension it is stored with, its size in pixels."""

    mime_type: str
    extension: str
    width: int
    height: int


def probe(path: str | os.PathLike, *, min_side: int = 1, max_side: int = 3000,
          square: bool = False) -> ImageInfo:
    """Check an image file: JPEG or PNG, RGB, within the sizes given; refuse anything else."""
    try:
        with Image.open(path) as image:
            kind, (width, height), mode = image.format, image.size, image.mode
            if kind not in FORMATS:
                raise ImageError(f"The image must be a JPEG or PNG file (this is {kind}).")
            # Checked before decoding, so a decompression bomb is never expanded.
            if max(width, height) > max_side or min(width, height) < min_side:
                raise ImageError(f"The image must be between {min_side} and {max_side} pixels "
                                 f"on each side (this one is {width}×{height}).")
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow refuses (or warns about) a header declaring millions of pixels at open().
        raise ImageError(f"The image declares far more pixels than allowed; it must be between "
                         f"{min_side} and {max_side} pixels on each side.") from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ImageError("This file is not a JPEG or PNG image, or it is damaged.") from None
    if square and width != height:
        raise ImageError(f"Podcast artwork must be square (this one is {width}×{height}).")
    if mode != "RGB":
        raise ImageError(f"The image must use RGB colours (this one is {mode}); "
                         "export it as RGB without transparency.")
    mime_type, extension = FORMATS[kind]
    return ImageInfo(mime_type, extension, width, height)


def probe_artwork(path: str | os.PathLike) -> ImageInfo:
    """Apple's rules for podcast artwork: square, 1400 to 3000 pixels, JPEG or PNG, RGB."""
    return probe(path, min_side=1400, max_side=3000, square=True)
