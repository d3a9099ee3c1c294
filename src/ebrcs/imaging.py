"""Decoding untrusted image bytes into RGB arrays, with every check an upload needs."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from ebrcs.errors import ErrorCode, InvalidInput, PayloadTooLarge

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP"})


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode an uploaded photo to an ``H x W x 3`` uint8 RGB array.

    Raises ``PayloadTooLarge`` for too many bytes or pixels (decompression bombs are caught
    from the header, before any pixel is decoded) and ``InvalidInput`` for empty, truncated,
    unsupported or corrupt data.
    """
    if not data:
        raise InvalidInput("empty image", code=ErrorCode.IMAGE_EMPTY)
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"image is larger than {max_bytes} bytes", code=ErrorCode.IMAGE_TOO_LARGE
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise InvalidInput(
                    f"unsupported image format {image.format}", code=ErrorCode.IMAGE_UNSUPPORTED
                )
            width, height = image.size
            if width * height > max_pixels:
                raise PayloadTooLarge(
                    f"image has more than {max_pixels} pixels",
                    code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
                )
            if width < 8 or height < 8:
                raise InvalidInput(
                    "image is smaller than 8x8 pixels", code=ErrorCode.IMAGE_TOO_SMALL
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PayloadTooLarge(
            "image has too many pixels", code=ErrorCode.IMAGE_TOO_MANY_PIXELS
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(
            "not a readable image (corrupt, truncated or unsupported)",
            code=ErrorCode.IMAGE_UNREADABLE,
        ) from error
    return np.asarray(image.convert("RGB"))
