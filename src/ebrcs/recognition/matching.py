"""Turning the nearest stored vectors into ranked products, and deciding when to trust the best."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence

from ebrcs.recognition.types import Hit, ProductMatch


def rank_products(
    hits: Iterable[Hit],
    *,
    prototypes: Mapping[uuid.UUID, float] | None = None,
    prototype_weight: float = 0.0,
    limit: int | None = None,
) -> list[ProductMatch]:
    """Rank the products behind ``hits``, best first.

    A product photographed several times appears once, scored by its closest photo, so a
    product is not favoured for having more photos. With ``prototypes`` (each product's
    cosine to its mean photo direction) the score is ``prototype_weight`` times that cosine
    plus the rest times the closest photo's; products without a prototype are dropped. Ties
    keep the order hits came in.
    """
    closest: dict[uuid.UUID, float] = {}
    for hit in hits:
        if hit.score > closest.get(hit.product_id, -float("inf")):
            closest[hit.product_id] = hit.score
    scores = closest
    if prototypes is not None:
        scores = {
            product: prototype_weight * prototypes[product] + (1.0 - prototype_weight) * score
            for product, score in closest.items()
            if product in prototypes
        }
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return [ProductMatch(product, score, closest[product]) for product, score in ranked[:limit]]


def accept(
    matches: Sequence[ProductMatch], *, threshold: float, margin: float
) -> ProductMatch | None:
    """The best match when it is close enough and clearly ahead of the next product, else None.

    ``threshold`` bounds the best score; ``margin`` is how far the best must lead the
    runner-up, which separates right from wrong matches far better than the score alone.
    """
    if not matches or matches[0].score < threshold:
        return None
    if len(matches) > 1 and matches[0].score - matches[1].score < margin:
        return None
    return matches[0]
