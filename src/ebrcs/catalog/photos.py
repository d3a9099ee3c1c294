"""Product photos: checked uploads, durably stored files, and where to find them."""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ebrcs.catalog.disk import fsync_dir
from ebrcs.config import Settings
from ebrcs.imaging import decode_image

MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "bmp": "image/bmp"}


@dataclass(frozen=True)
class Photo:
    """An uploaded photo that decoded cleanly: its bytes, pixels and file extension."""

    data: bytes
    pixels: np.ndarray
    extension: str


def read_photo(data: bytes, settings: Settings) -> Photo:
    """Check and decode one upload (``InvalidInput`` / ``PayloadTooLarge`` when unfit)."""
    pixels = decode_image(
        data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels
    )
    # decode_image accepted it, so the header names one of the allowed formats.
    extension = str(Image.open(io.BytesIO(data)).format).lower()
    return Photo(data=data, pixels=pixels, extension=extension)


def store_photos(
    images_dir: Path, product_id: uuid.UUID, image_ids: Sequence[uuid.UUID], photos: Sequence[Photo]
) -> list[str]:
    """Write photos durably before the rows that name them commit; returns relative paths.

    A crash after this and before the commit leaves unreferenced files, which are harmless;
    the reverse (a committed row naming a missing file) cannot happen.
    """
    folder = images_dir / str(product_id)
    folder.mkdir(parents=True, exist_ok=True)
    relative_paths = []
    for image_id, photo in zip(image_ids, photos, strict=True):
        relative = f"{product_id}/{image_id}.{photo.extension}"
        with (images_dir / relative).open("xb") as file:
            file.write(photo.data)
            file.flush()
            os.fsync(file.fileno())
        relative_paths.append(relative)
    fsync_dir(folder)
    fsync_dir(images_dir)
    return relative_paths


def discard_photos(images_dir: Path, relative_paths: Sequence[str]) -> None:
    """Remove files whose rows never committed."""
    for relative in relative_paths:
        with contextlib.suppress(FileNotFoundError):
            (images_dir / relative).unlink()


def sweep_orphans(images_dir: Path, referenced: set[str], *, written_before: float) -> int:
    """Delete photo files no row names that were last written before ``written_before``.

    ``store_photos`` writes files before their rows commit, so a crash in between leaves
    files nothing refers to. Newer files may belong to a registration still running (in
    this process or another), so only those older than ``written_before`` (a Unix time)
    go. Emptied product folders go too. Returns how many files were deleted.
    """
    deleted = 0
    if not images_dir.is_dir():
        return 0
    for folder in images_dir.iterdir():
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            relative = f"{folder.name}/{path.name}"
            if relative in referenced or not path.is_file():
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < written_before:
                    path.unlink()
                    deleted += 1
        with contextlib.suppress(OSError):  # not empty, or already gone
            folder.rmdir()
    return deleted


def photo_file(images_dir: Path, relative_path: str) -> Path | None:
    """The stored file of a photo row, or None when the row has no photo."""
    return images_dir / relative_path if relative_path else None


def media_type(path: Path) -> str:
    """The content type a stored photo is served with."""
    return MEDIA_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
