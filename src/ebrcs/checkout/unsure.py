"""Unsure items: physical items counted but not confidently named, waiting on the bill.

Each keeps the recognition's top candidates and the crop it was seen in, so the shopper can
say with one tap what it is. Resolving and dismissing change the cart, so they live in
``ebrcs.checkout.cart``; this module stores and reads the items.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ebrcs.catalog.models import Product, ProductImage
from ebrcs.checkout.models import UnresolvedItem, UnsureStatus
from ebrcs.config import Settings
from ebrcs.db.base import CENT
from ebrcs.errors import ErrorCode, NotFound


@dataclass(frozen=True)
class Candidate:
    """A product an unsure item may be, with the score recognition gave it."""

    product_id: uuid.UUID
    score: float


@dataclass(frozen=True)
class CandidateLine:
    """A candidate as the bill shows it: name, price and the product's first photo."""

    product_id: uuid.UUID
    name: str
    score: float
    unit_price: Decimal
    image_id: uuid.UUID | None


@dataclass(frozen=True)
class UnsureLine:
    """An open unsure item of a cart."""

    id: uuid.UUID
    candidates: list[CandidateLine]
    best_score: float
    has_crop: bool
    created_at: datetime


def crop_on_disk(settings: Settings, item: UnresolvedItem) -> Path | None:
    """The item's crop file, if one was kept and is still there."""
    if item.crop_path is None:
        return None
    path = settings.data_dir / item.crop_path
    return path if path.is_file() else None


def add(
    *,
    db: Session,
    session_id: uuid.UUID,
    item_id: uuid.UUID,
    candidates: Sequence[Candidate],
    crop_path: Path | None,
) -> UnresolvedItem:
    """Stage one unsure item (the caller commits, with the frame's other changes)."""
    item = UnresolvedItem(
        id=item_id,
        session_id=session_id,
        candidates=[{"product_id": str(c.product_id), "score": float(c.score)} for c in candidates],
        best_score=max((float(c.score) for c in candidates), default=0.0),
        crop_path=None if crop_path is None else crop_path.as_posix(),
        status=UnsureStatus.OPEN,
    )
    db.add(item)
    return item


def get(*, db: Session, session_id: uuid.UUID, item_id: uuid.UUID) -> UnresolvedItem:
    """The session's unsure item; NotFound if it is not one of this session's."""
    item = db.get(UnresolvedItem, item_id, populate_existing=True)
    if item is None or item.session_id != session_id:
        raise NotFound("unsure item not found", code=ErrorCode.UNSURE_ITEM_NOT_FOUND)
    return item


def open_count(*, db: Session, session_id: uuid.UUID) -> int:
    """How many unsure items of the session still wait for the shopper."""
    query = select(func.count(UnresolvedItem.id)).where(
        UnresolvedItem.session_id == session_id, UnresolvedItem.status == UnsureStatus.OPEN
    )
    return int(db.scalar(query) or 0)


def open_lines(*, db: Session, session_id: uuid.UUID) -> list[UnsureLine]:
    """The session's open unsure items, oldest first, their candidates named and priced."""
    items = db.scalars(
        select(UnresolvedItem)
        .where(UnresolvedItem.session_id == session_id, UnresolvedItem.status == UnsureStatus.OPEN)
        .order_by(UnresolvedItem.created_at, UnresolvedItem.id)
    ).all()
    if not items:
        return []
    wanted = {uuid.UUID(c["product_id"]) for item in items for c in item.candidates}
    products = {
        product.id: product for product in db.scalars(select(Product).where(Product.id.in_(wanted)))
    }
    first = (
        select(func.min(ProductImage.embedding_id))
        .where(ProductImage.product_id.in_(wanted))
        .group_by(ProductImage.product_id)
    )
    first_images = dict(
        db.execute(
            select(ProductImage.product_id, ProductImage.id).where(
                ProductImage.embedding_id.in_(first)
            )
        ).all()
    )
    return [
        UnsureLine(
            id=item.id,
            candidates=[
                CandidateLine(
                    product_id=product.id,
                    name=product.name,
                    score=float(candidate["score"]),
                    unit_price=product.price.quantize(CENT),
                    image_id=first_images.get(product.id),
                )
                for candidate in item.candidates
                if (product := products.get(uuid.UUID(candidate["product_id"]))) is not None
                and product.is_active
            ],
            best_score=item.best_score,
            has_crop=item.crop_path is not None,
            created_at=item.created_at,
        )
        for item in items
    ]
