"""Two embedders as one: their L2-normalised vectors concatenated, which errs less than either."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ebrcs.embedding.base import Embedder


class ConcatenatedEmbedder:
    """Each part's unit vector, side by side and scaled by ``1/sqrt(parts)``: again a unit vector.

    Equal weights: each part's cosine counts alike in the pair's cosine, which is their mean.
    """

    def __init__(self, id: str, parts: Sequence[Embedder]) -> None:
        if len(parts) < 2:
            raise ValueError("a concatenated embedder needs at least two parts")
        self.id = id
        self.parts = tuple(parts)
        self.dim = sum(part.dim for part in parts)

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed RGB uint8 images with every part; ``[n, dim]`` unit float32 vectors."""
        return self.join([part.embed(images) for part in self.parts])

    def join(self, vectors: Sequence[np.ndarray]) -> np.ndarray:
        """The pair's vectors from each part's (already unit) vectors of the same images."""
        joined = np.concatenate(vectors, axis=1) / math.sqrt(len(vectors))
        return joined.astype(np.float32, copy=False)
