"""Idle session expiry: a background task of the server marks idle sessions ``expired``."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from ebrcs.checkout import service
from ebrcs.orders import learning
from ebrcs.runtime import Runtime

log = logging.getLogger(__name__)


def expire_idle_sessions(runtime: Runtime) -> int:
    """One sweep: mark sessions idle past the TTL as expired (carts kept); how many.

    The kept crops of sessions no confirmation will learn from go in the same sweep.
    """
    with runtime.sessions() as db:
        expired = service.expire_idle(db=db, ttl_minutes=runtime.settings.session_ttl_minutes)
        learning.sweep_crops(db=db, settings=runtime.settings)
    return expired


async def expire_idle_sessions_forever(runtime: Runtime) -> None:
    """Sweep periodically until cancelled; a failed sweep is logged and retried next time."""
    interval = runtime.settings.session_expiry_check_seconds
    while True:
        # Wait first: a session is also checked whenever it is used, so nothing waits on
        # the sweep, and a start-up sweep would race whatever the process does first.
        await asyncio.sleep(interval)
        try:
            expired = await asyncio.to_thread(expire_idle_sessions, runtime)
        except SQLAlchemyError:
            log.exception("idle session sweep failed; retrying in %s s", interval)
        else:
            if expired:
                log.info("expired %d idle checkout sessions", expired)
