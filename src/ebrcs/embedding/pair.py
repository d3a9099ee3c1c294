"""Embedders as one: their L2-normalised vectors concatenated, which errs less than either."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ebrcs.embedding.base import Embedder


class ConcatenatedEmbedder:
    """Each part's unit vector times its weight, side by side, scaled back to a unit vector.

    The cosine of two joined vectors is the weighted mean of their parts' cosines (weights
    squared); equal weights by default, so each part counts alike.
    """

    def __init__(
        self, id: str, parts: Sequence[Embedder], weights: Sequence[float] | None = None
    ) -> None:
        if len(parts) < 2:
            raise ValueError("a concatenated embedder needs at least two parts")
        weights = [1.0] * len(parts) if weights is None else list(weights)
        if len(weights) != len(parts) or min(weights) <= 0:
            raise ValueError("give one positive weight per part")
        self.id = id
        self.parts = tuple(parts)
        self.dim = sum(part.dim for part in parts)
        norm = math.sqrt(sum(weight * weight for weight in weights))
        self.weights = tuple(weight / norm for weight in weights)

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed RGB uint8 images with every part; ``[n, dim]`` unit float32 vectors."""
        return self.join([part.embed(images) for part in self.parts])

    def join(self, vectors: Sequence[np.ndarray]) -> np.ndarray:
        """The joined vectors from each part's (already unit) vectors of the same images."""
        scaled = [part * weight for part, weight in zip(vectors, self.weights, strict=True)]
        return np.concatenate(scaled, axis=1).astype(np.float32, copy=False)
