"""The crop store: the pictures live checkout kept of counted and unsure items, per session.

While ``learn_from_corrections`` is on, the live checkout keeps the crop each ADD was counted
from (``save_crop``, named by the event's id), so a confirmed correction can teach the index
what the item really was (``ebrcs.orders.learning``); an unsure item's crop is kept always,
because the bill shows it. ``sweep_crops`` deletes what no confirmation will learn from.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.config import Settings
from ebrcs.db.base import utcnow

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
