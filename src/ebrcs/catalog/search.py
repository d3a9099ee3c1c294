"""Finding products by name for the product picker: fuzzy, accent- and case-insensitive.

Matching is rapidfuzz's weighted ratio over names folded the same way as the query (accents
dropped, case folded, punctuation as spaces), so "arla milk" finds "Arla-Standard-Milk" and
"creme" finds "Crème fraîche". An empty query browses the catalogue by name. Results come a
page at a time, cut from the whole ranked list, so pages never overlap or skip a product.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select
from sqlalchemy.orm import Session

from ebrcs.catalog.models import Product, ProductImage


@dataclass(frozen=True)
class Found:
    """A sellable product the picker offers, with its first stored photo's id (if any)."""

    product: Product
    score: float
    image_id: uuid.UUID | None


def folded(text: str) -> str:
    """A name as search compares it: no accents, case folded, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return utils.default_process(bare)


def search(
    *, db: Session, query: str, offset: int, limit: int, min_score: float
) -> tuple[list[Found], int]:
    """One page of the active products best matching ``query`` (blank: by name), and how many match.

    Photos are looked up for the page only.
    """
    products = db.scalars(select(Product).where(Product.is_active.is_(True))).all()
    wanted = folded(query)
    if not wanted:
        ranked = [(product, 100.0) for product in sorted(products, key=lambda p: p.name.casefold())]
    else:
        names = {index: folded(product.name) for index, product in enumerate(products)}
        hits = process.extract(
            wanted, names, scorer=fuzz.WRatio, processor=None, score_cutoff=min_score, limit=None
        )
        hits.sort(key=lambda hit: (-hit[1], products[hit[2]].name.casefold()))
        ranked = [(products[index], score) for _name, score, index in hits]
    page = ranked[offset : offset + limit]
    photos = _first_photos(db=db, product_ids=[product.id for product, _ in page])
    return [Found(product, score, photos.get(product.id)) for product, score in page], len(ranked)


def _first_photos(*, db: Session, product_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each product's oldest stored photo that has a file."""
    if not product_ids:
        return {}
    rows = db.execute(
        select(ProductImage.product_id, ProductImage.id)
        .where(ProductImage.product_id.in_(product_ids), ProductImage.image_path != "")
        .order_by(ProductImage.created_at, ProductImage.id)
    )
    first: dict[uuid.UUID, uuid.UUID] = {}
    for product_id, image_id in rows:
        first.setdefault(product_id, image_id)
    return first
