"""Recognising products in images: embed, search the product index, rank, accept or reject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ebrcs.embedding.base import Embedder
from ebrcs.recognition.matching import accept, rank_products
from ebrcs.recognition.types import Hit, Recognition

# Each product holds several photos; searching this many neighbours per wanted product
# keeps ``top_k`` distinct products available after the per-product merge.
NEIGHBOURS_PER_PRODUCT = 4


class NeighbourSearch(Protocol):
    """The part of the product index recognition needs."""

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """The ``k`` stored vectors nearest each query, best first."""
        ...


class Recogniser:
    """Embeds images and matches them against the product index; safe to share between threads."""

    def __init__(
        self,
        embedder: Embedder,
        index: NeighbourSearch,
        *,
        top_k: int,
        threshold: float,
        margin: float,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.top_k = top_k
        self.threshold = threshold
        self.margin = margin

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        """One ``Recognition`` per image, in order: ranked matches and the accepted one."""
        if not images:
            return []
        return self.match(self.embedder.embed(images))

    def match(self, vectors: np.ndarray) -> list[Recognition]:
        """Recognise already embedded images (rows of ``vectors``)."""
        results = self.index.search(vectors, self.top_k * NEIGHBOURS_PER_PRODUCT)
        recognitions = []
        for hits in results:
            matches = rank_products(hits, limit=self.top_k)
            chosen = accept(matches, threshold=self.threshold, margin=self.margin)
            recognitions.append(Recognition(matches=matches, accepted=chosen))
        return recognitions
