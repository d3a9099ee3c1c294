"""Decoding untrusted image bytes (photos and camera frames), with every check before decoding."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ebrcs.errors import ErrorCode, InvalidInput, PayloadTooLarge

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP"})
JPEG_ONLY = frozenset({"JPEG"})


JPEG_MAGIC = b"\xff\xd8\xff"


def _open_checked(
    data: bytes, *, max_bytes: int, max_pixels: int, formats: frozenset[str]
) -> Image.Image:
    """Open ``data`` lazily (PIL reads the header only) and check bytes, format and pixels.

    The pixel count is the one the header declares, so a tiny file announcing a huge image
    is refused before any pixel is decoded.
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
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PayloadTooLarge(
            "image has too many pixels", code=ErrorCode.IMAGE_TOO_MANY_PIXELS
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(
            "not a readable image (corrupt, truncated or unsupported)",
            code=ErrorCode.IMAGE_UNREADABLE,
        ) from error
    if image.format not in formats:
        raise InvalidInput(
            f"unsupported image format {image.format}; send {', '.join(sorted(formats))}",
            code=ErrorCode.IMAGE_UNSUPPORTED,
        )
    width, height = image.size
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"image has more than {max_pixels} pixels ({width}x{height})",
            code=ErrorCode.IMAGE_TOO_MANY_PIXELS,
        )
    if width < 8 or height < 8:
        raise InvalidInput("image is smaller than 8x8 pixels", code=ErrorCode.IMAGE_TOO_SMALL)
    return image


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """Decode an uploaded photo to an ``H x W x 3`` uint8 RGB array.

    Raises ``PayloadTooLarge`` for too many bytes or pixels (decompression bombs are caught
    from the header, before any pixel is decoded) and ``InvalidInput`` for empty, truncated,
    unsupported or corrupt data.
    """
    image = _open_checked(data, max_bytes=max_bytes, max_pixels=max_pixels, formats=ALLOWED_FORMATS)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(
            "not a readable image (corrupt, truncated or unsupported)",
            code=ErrorCode.IMAGE_UNREADABLE,
        ) from error
    return np.asarray(image.convert("RGB"))


def check_frame(data: bytes, *, max_bytes: int, max_pixels: int) -> None:
    """The gate every camera frame passes before decoding: bytes, JPEG magic, declared pixels.

    Cheap enough for the event loop (it parses the header only).
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"frame is larger than {max_bytes} bytes", code=ErrorCode.IMAGE_TOO_LARGE
        )
    if not data.startswith(JPEG_MAGIC):
        raise InvalidInput("frame is not a JPEG image", code=ErrorCode.IMAGE_UNSUPPORTED)
    _open_checked(data, max_bytes=max_bytes, max_pixels=max_pixels, formats=JPEG_ONLY)


def decode_frame(data: bytes, *, max_bytes: int, max_pixels: int) -> np.ndarray:
    """A JPEG camera frame as a BGR array, after ``check_frame``."""
    check_frame(data, max_bytes=max_bytes, max_pixels=max_pixels)
    frame = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise InvalidInput("frame is a corrupt JPEG image", code=ErrorCode.IMAGE_UNREADABLE)
    return frame
