"""A fast deterministic embedder and photos made in memory, for catalogue tests."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

BINS = 8


class ColourEmbedder:
    """A colour-histogram embedder: instant, deterministic, and tells colours apart."""

    id = "test-colour-histogram"
    dim = 3 * BINS

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """One L2-normalised per-channel histogram per image."""
        rows = []
        for image in images:
            histogram = np.concatenate(
                [
                    np.bincount(image[..., c].ravel() // (256 // BINS), minlength=BINS)
                    for c in range(3)
                ]
            ).astype(np.float32)
            rows.append(histogram / np.linalg.norm(histogram))
        return np.stack(rows) if rows else np.empty((0, self.dim), np.float32)


def photo(
    colour: tuple[int, int, int], *, size: int = 32, fmt: str = "PNG", seed: int = 0
) -> bytes:
    """A small photo of one colour with a little noise, encoded as ``fmt``."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.integers(-6, 7, (size, size, 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def photo_pixels(colour: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """The RGB pixels of ``photo(colour, seed=seed)``."""
    return np.asarray(Image.open(io.BytesIO(photo(colour, seed=seed))).convert("RGB"))
