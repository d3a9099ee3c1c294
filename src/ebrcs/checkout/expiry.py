"""Idle session expiry: a background task of the server marks idle sessions ``expired``."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import photos
from ebrcs.catalog import service as catalog
from ebrcs.checkout import crops, service
from ebrcs.config import Settings

log = logging.getLogger(__name__)

# Far longer than a registration takes between writing its photos and committing their rows.
ORPHAN_PHOTO_GRACE_SECONDS = 600


def expire_idle_sessions(*, db_sessions: sessionmaker[Session], settings: Settings) -> int:
    """One sweep: mark sessions idle past the TTL as expired (carts kept); how many.

    The kept crops of sessions no confirmation will learn from go in the same sweep, and so
    do product photo files a crash left without their row.
    """
    with db_sessions() as db:
        expired = service.expire_idle(db=db, ttl_minutes=settings.session_ttl_minutes)
        crops.sweep_crops(db=db, settings=settings)
        referenced = catalog.stored_photo_paths(db=db)
    orphans = photos.sweep_orphans(
        settings.images_dir,
        referenced,
        written_before=time.time() - ORPHAN_PHOTO_GRACE_SECONDS,
    )
    if orphans:
        log.info("deleted %d photo files no product refers to", orphans)
    return expired


async def expire_idle_sessions_forever(
    *, db_sessions: sessionmaker[Session], settings: Settings
) -> None:
    """Sweep periodically until cancelled; a failed sweep is logged and retried next time."""
    interval = settings.session_expiry_check_seconds
    while True:
        # Wait first: a session is also checked whenever it is used, so nothing waits on
        # the sweep, and a start-up sweep would race whatever the process does first.
        await asyncio.sleep(interval)
        try:
            expired = await asyncio.to_thread(
                expire_idle_sessions, db_sessions=db_sessions, settings=settings
            )
        except SQLAlchemyError:
            log.exception("idle session sweep failed; retrying in %s s", interval)
        else:
            if expired:
                log.info("expired %d idle checkout sessions", expired)
