"""Learning from corrections: crops the shopper proved misread become photos of the right product.

While ``learn_from_corrections`` is on, the live checkout keeps the crop each ADD was counted
from (``save_crop``, named by the event's id); an unsure item's crop is kept always (the bill
shows it), and once the shopper names the item it is learned as a photo of that product.
When an order is confirmed, ``misreads``
compares what recognition counted with what the shopper paid for; crops of a product the
shopper removed entirely are added, through the catalogue's incremental ``add_photos``, as
photos of the one product the shopper added instead. Anything less clear-cut is not learned:
a wrong reference photo would make recognition worse, not better.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ebrcs.catalog import flows as catalog
from ebrcs.checkout.models import (
    CheckoutSession,
    EventKind,
    RecognitionEvent,
    SessionStatus,
    UnresolvedItem,
    UnsureStatus,
)
from ebrcs.config import Settings
from ebrcs.db.base import utcnow
from ebrcs.errors import DomainError
from ebrcs.orders import service
from ebrcs.orders.models import Order

if TYPE_CHECKING:
    from ebrcs.runtime import Runtime

log = logging.getLogger(__name__)

CROPS_FOLDER = "crops"


def session_crops_dir(settings: Settings, session_id: uuid.UUID) -> Path:
    """Where the crops of one session's ADD events are kept."""
    return settings.data_dir / CROPS_FOLDER / str(session_id)


def crop_path(settings: Settings, session_id: uuid.UUID, event_id: uuid.UUID) -> Path:
    """The file of the crop an ADD event was counted from."""
    return session_crops_dir(settings, session_id) / f"{event_id}.jpg"


def unsure_crop_path(settings: Settings, session_id: uuid.UUID, item_id: uuid.UUID) -> Path:
    """The file of an unsure item's crop (kept whether learning is on or not: the bill shows it)."""
    return session_crops_dir(settings, session_id) / f"unsure-{item_id}.jpg"


def save_crop(
    *, settings: Settings, session_id: uuid.UUID, event_id: uuid.UUID, crop_rgb: np.ndarray
) -> Path | None:
    """Keep an ADD event's crop (RGB uint8) as JPEG while learning is on; its path or None."""
    if not settings.learn_from_corrections:
        return None
    return write_crop(crop_path(settings, session_id, event_id), crop_rgb)


def write_crop(path: Path, crop_rgb: np.ndarray) -> Path | None:
    """Write a crop (RGB uint8) as JPEG at ``path``; the path, or None if it was not kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        log.warning("crop %s could not be encoded; not kept", path.name)
        return None
    # Written aside and renamed, so a reader never sees half a JPEG.
    partial = path.with_suffix(".part")
    try:
        partial.write_bytes(encoded.tobytes())
        os.replace(partial, path)
    except FileNotFoundError:
        # The sweep removed the session's folder meanwhile: nobody will learn from it.
        log.info("crop %s not kept: its session's crops were swept", path.name)
        return None
    return path


def sweep_crops(*, db: Session, settings: Settings, now: datetime | None = None) -> int:
    """Delete the crops no confirmation will learn from; how many sessions' crops went.

    Kept are the crops of active sessions and of sessions completed less than the session TTL
    ago (learning runs right after confirmation and deletes them itself). Those of expired
    or deleted sessions, and those learning never got to, are deleted.
    """
    root = settings.data_dir / CROPS_FOLDER
    if not root.is_dir():
        return 0
    kept_folders = {}
    for folder in root.iterdir():
        try:
            kept_folders[uuid.UUID(folder.name)] = folder
        except ValueError:
            continue  # not a session's folder
    if not kept_folders:
        return 0
    learning_since = (now or utcnow()) - timedelta(minutes=settings.session_ttl_minutes)
    rows = db.execute(
        select(CheckoutSession.id, CheckoutSession.status, CheckoutSession.last_active).where(
            CheckoutSession.id.in_(kept_folders)
        )
    )
    still_useful = {
        session_id
        for session_id, status, last_active in rows
        if status == SessionStatus.ACTIVE
        or (status == SessionStatus.COMPLETED and last_active >= learning_since)
    }
    db.rollback()  # only read: end the transaction before touching files
    removed = 0
    for session_id in kept_folders.keys() - still_useful:
        shutil.rmtree(session_crops_dir(settings, session_id), ignore_errors=True)
        removed += 1
    return removed


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


def learn(*, runtime: Runtime, order_id: uuid.UUID) -> int:
    """Add the kept crops of an order's misreads and of the unsure items the shopper named as
    photos of the right products; how many.

    Runs after the order is committed (a background task): a failure here never touches the
    order. The session's crops are deleted afterwards either way, so it learns once.
    """
    settings = runtime.settings
    learned = 0
    with runtime.sessions() as db:
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
                        index=runtime.index,
                        embedder=runtime.embedder,
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
