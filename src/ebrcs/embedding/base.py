"""The one interface every embedder implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns RGB images into L2-normalised float32 vectors; safe to call from several threads."""

    id: str
    """Stable identifier stored with every vector; vectors of different ids are never mixed."""
    dim: int
    """Length of each vector."""

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed ``H x W x 3`` uint8 RGB images into a ``[len(images), dim]`` float32 array."""
        ...


class EmbedderUnavailable(RuntimeError):
    """The configured embedder cannot be built here (e.g. its model files are not on disk)."""


def check_image(image: np.ndarray) -> None:
    """Refuse anything that is not an ``H x W x 3`` uint8 RGB array."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image.dtype} {image.shape}")


def embed_in_batches(
    images: Sequence[np.ndarray],
    *,
    dim: int,
    batch_size: int,
    forward: Callable[[list[np.ndarray]], np.ndarray],
) -> np.ndarray:
    """Check every image, then run ``forward`` on ``batch_size`` of them at a time."""
    for image in images:
        check_image(image)
    out = np.empty((len(images), dim), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        chunk = list(images[start : start + batch_size])
        out[start : start + len(chunk)] = forward(chunk)
    return out
