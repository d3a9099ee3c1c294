"""What the pipeline needs from product recognition, as structural types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ebrcs.embedding.base import Embedder
from ebrcs.recognition.types import Recognition


class Recogniser(Protocol):
    """Turns RGB uint8 crops into ranked product matches (``ebrcs.recognition.recogniser``)."""

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        """One ``Recognition`` per image, in order."""
        ...


@runtime_checkable
class EmbeddingRecogniser(Protocol):
    """A recogniser whose embedding and index search can be timed apart."""

    embedder: Embedder

    def match(self, vectors: np.ndarray) -> list[Recognition]:
        """Recognise already embedded images."""
        ...
