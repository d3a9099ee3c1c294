"""Learning from corrections: crops the shopper proved misread become photos of the right product.

The live checkout keeps the crops (``ebrcs.checkout.crops``): each ADD's while
``learn_from_corrections`` is on, each unsure item's always. Once the shopper names an unsure
item, its crop is learned as a photo of that product. When an order is confirmed, ``misreads``
compares what recognition counted with what the shopper paid for; crops of a product the
shopper removed entirely are added, through the catalogue's incremental ``add_photos``, as
photos of the one product the shopper added instead. Anything less clear-cut is not learned:
a wrong reference photo would make recognition worse, not better.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import flows as catalog
from ebrcs.catalog.index import ProductIndex
from ebrcs.checkout.crops import crop_path, session_crops_dir
from ebrcs.checkout.models import EventKind, RecognitionEvent, UnresolvedItem, UnsureStatus
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.errors import DomainError
from ebrcs.orders import service
from ebrcs.orders.models import Order

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Misread:
    """Items recognition counted as one product that were really another."""

    counted_as: uuid.UUID
    actually: uuid.UUID
    event_ids: list[uuid.UUID]


def misreads(*, db: Session, order: Order) -> list[Misread]:
    """The misreads an order proves: products counted but removed entirely, and the one added.

    Only when the shopper added exactly one product beyond what recognition counted is it
    clear what the removed items really were; only a product removed entirely proves every
    one of its counts wrong. The most recent ADDs still counted are the misread ones, at
    most as many as the shopper added.
    """
    if order.session_id is None:
        return []
    events = db.execute(
        select(RecognitionEvent.id, RecognitionEvent.kind, RecognitionEvent.product_id)
        .where(
            RecognitionEvent.session_id == order.session_id,
            RecognitionEvent.kind.in_([EventKind.ADD, EventKind.REMOVE]),
            RecognitionEvent.product_id.is_not(None),
        )
        .order_by(RecognitionEvent.created_at)
    )
    counted: Counter[uuid.UUID] = Counter()
    adds: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for event_id, kind, product_id in events:
        if kind == EventKind.ADD:
            counted[product_id] += 1
            adds[product_id].append(event_id)
        elif counted[product_id]:
            counted[product_id] -= 1
    paid = {item.product_id: item.quantity for item in order.items}
    added = {product: n - counted[product] for product, n in paid.items() if n > counted[product]}
    if len(added) != 1:
        return []
    ((actually, missing),) = added.items()
    found = []
    for product, still_counted in counted.items():
        if still_counted and product not in paid and missing > 0:
            taken = min(still_counted, missing)
            found.append(Misread(product, actually, adds[product][-taken:]))
            missing -= taken
    return found


def resolved_crops(
    *, db: Session, settings: Settings, session_id: uuid.UUID
) -> dict[uuid.UUID, list[Path]]:
    """Crops of the session's unsure items the shopper named, by the product they chose."""
    rows = db.execute(
        select(UnresolvedItem.resolved_product_id, UnresolvedItem.crop_path)
        .where(
            UnresolvedItem.session_id == session_id,
            UnresolvedItem.status == UnsureStatus.RESOLVED,
            UnresolvedItem.resolved_product_id.is_not(None),
            UnresolvedItem.crop_path.is_not(None),
        )
        .order_by(UnresolvedItem.resolved_at)
    )
    found: dict[uuid.UUID, list[Path]] = defaultdict(list)
    for product_id, path in rows:
        found[product_id].append(settings.data_dir / path)
    return found


def learn(
    *,
    db_sessions: sessionmaker[Session],
    index: ProductIndex,
    embedder: Embedder,
    settings: Settings,
    order_id: uuid.UUID,
) -> int:
    """Add the kept crops of an order's misreads and of the unsure items the shopper named as
    photos of the right products; how many.

    Runs after the order is committed (a background task): a failure here never touches the
    order. The session's crops are deleted afterwards either way, so it learns once.
    """
    learned = 0
    with db_sessions() as db:
        order = service.get(db=db, order_id=order_id)
        if order is None or order.session_id is None or not settings.learn_from_corrections:
            return 0
        try:
            paid = {item.product_id for item in order.items}
            resolved = resolved_crops(db=db, settings=settings, session_id=order.session_id)
            # A product named and then taken off the bill again taught nothing sure.
            lessons = defaultdict(list, {p: c for p, c in resolved.items() if p in paid})
            for misread in misreads(db=db, order=order):
                lessons[misread.actually] += [
                    crop_path(settings, order.session_id, e) for e in misread.event_ids
                ]
            for product_id, paths in lessons.items():
                uploads = [path.read_bytes() for path in paths if path.is_file()]
                uploads = uploads[: settings.max_images_per_product]
                if not uploads:
                    continue
                try:
                    catalog.add_photos(
                        db=db,
                        index=index,
                        embedder=embedder,
                        settings=settings,
                        product_id=product_id,
                        uploads=uploads,
                    )
                except DomainError as error:
                    # E.g. the product already keeps its maximum of photos: nothing to learn.
                    log.info("not learning crops for %s: %s", product_id, error.message)
                    continue
                learned += len(uploads)
                log.info("learned %d crops as photos of %s", len(uploads), product_id)
        finally:
            shutil.rmtree(session_crops_dir(settings, order.session_id), ignore_errors=True)
    return learned
