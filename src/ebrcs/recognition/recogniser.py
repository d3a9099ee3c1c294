"""Recognising products in images: embed, search the product index, rank, accept or reject."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.recognition.matching import accept, rank_products
from ebrcs.recognition.types import Hit, Recognition

# Each product holds several photos; searching this many neighbours per wanted product
# keeps ``top_k`` distinct products available after the per-product merge.
NEIGHBOURS_PER_PRODUCT = 4
# The products re-scored by their prototypes are those behind at least this many nearest
# photos: a product whose mean photo is close but whose closest photo ranks below the 32nd
# is rare enough that searching further gained nothing measurable (docs/PERFORMANCE.md).
CANDIDATE_NEIGHBOURS = 32


class NeighbourSearch(Protocol):
    """The part of the product index recognition needs."""

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """The ``k`` stored vectors nearest each query, best first."""
        ...

    def prototype_scores(
        self, queries: np.ndarray, candidates: Sequence[Iterable[uuid.UUID]]
    ) -> list[dict[uuid.UUID, float]]:
        """Cosine of each query to the mean vector of each of its candidate products."""
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
        prototype_weight: float,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.top_k = top_k
        self.threshold = threshold
        self.margin = margin
        self.prototype_weight = prototype_weight

    @classmethod
    def from_settings(
        cls, embedder: Embedder, index: NeighbourSearch, settings: Settings, *, top_k: int = 0
    ) -> Recogniser:
        """A recogniser with the configured acceptance; ``top_k`` raises the configured one."""
        return cls(
            embedder,
            index,
            top_k=max(top_k, settings.top_k),
            threshold=settings.match_threshold,
            margin=settings.match_margin,
            prototype_weight=settings.match_prototype_weight,
        )

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        """One ``Recognition`` per image, in order: ranked matches and the accepted one."""
        if not images:
            return []
        return self.match(self.embedder.embed(images))

    def match(self, vectors: np.ndarray) -> list[Recognition]:
        """Recognise already embedded images (rows of ``vectors``)."""
        neighbours = self._neighbours(vectors)
        prototypes: list[dict[uuid.UUID, float] | None] = [None] * len(neighbours)
        if self.prototype_weight > 0:
            candidates = [{hit.product_id for hit in hits} for hits in neighbours]
            prototypes = list(self.index.prototype_scores(vectors, candidates))
        recognitions = []
        for hits, scores in zip(neighbours, prototypes, strict=True):
            # Accept on the full ranking: the margin needs the runner-up even when top_k is 1.
            ranked = rank_products(hits, prototypes=scores, prototype_weight=self.prototype_weight)
            chosen = accept(ranked, threshold=self.threshold, margin=self.margin)
            recognitions.append(Recognition(matches=ranked[: self.top_k], accepted=chosen))
        return recognitions

    def _neighbours(self, vectors: np.ndarray) -> list[list[Hit]]:
        """Nearest stored vectors per query, widened until a runner-up product is among them.

        Without a runner-up the margin test cannot run, so a product with many photos could
        otherwise crowd out every other product and be accepted on its score alone.
        """
        k = max(self.top_k * NEIGHBOURS_PER_PRODUCT, CANDIDATE_NEIGHBOURS)
        results = self.index.search(vectors, k)
        short = [i for i, hits in enumerate(results) if _needs_more(hits, k)]
        while short:
            k *= 4
            for i, hits in zip(short, self.index.search(vectors[short], k), strict=True):
                results[i] = hits
            short = [i for i in short if _needs_more(results[i], k)]
        return results


def _needs_more(hits: list[Hit], k: int) -> bool:
    """True when all ``k`` hits are one product and the index may hold more vectors."""
    return len(hits) == k and len({hit.product_id for hit in hits}) < 2
