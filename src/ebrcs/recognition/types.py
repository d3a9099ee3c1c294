"""Values passed between the product index, the matcher and their callers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    """One stored vector found near a query: its id, its product and the similarity."""

    embedding_id: int
    product_id: uuid.UUID
    score: float


@dataclass(frozen=True, slots=True)
class ProductMatch:
    """A product ranked for a query, with the score that ranked it."""

    product_id: uuid.UUID
    score: float
    closest: float | None = None
    """Similarity of the product's closest stored photo, where the ranking saw its photos."""


@dataclass(frozen=True, slots=True)
class Recognition:
    """What one image was recognised as: products ranked best first, and the one accepted."""

    matches: list[ProductMatch]
    accepted: ProductMatch | None
