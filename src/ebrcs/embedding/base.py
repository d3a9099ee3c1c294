"""The one interface every embedder implements."""

from __future__ import annotations

from collections.abc import Sequence
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
