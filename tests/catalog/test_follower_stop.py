"""Stopping the catalogue follower ends its thread at once, however long its poll is."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import sync
from ebrcs.catalog.index import ProductIndex
from ebrcs.config import Settings


def _follower_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "catalog-follower"}


def _wait_until_listening(sessions: sessionmaker[Session], backend: str) -> None:
    """Until the follower is in its wait: LISTENing on PostgreSQL, a moment on SQLite."""
    deadline = time.monotonic() + 30
    while backend == "postgresql" and time.monotonic() < deadline:
        with sessions() as db:
            listening = db.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
        if listening:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # past its first catch-up, into the wait


def test_stop_ends_a_follower_waiting_on_a_long_poll(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A short stop timeout keeps a regression quick; the poll is far longer than it.
    monkeypatch.setattr(sync, "STOP_TIMEOUT_SECONDS", 2.0)
    before = _follower_threads()
    follower = sync.CatalogFollower(
        sessions,
        ProductIndex(8),
        listen_dsn=settings.listen_dsn,
        poll_seconds=60.0,
        reconcile_seconds=60.0,
    ).start()
    started = _follower_threads() - before
    assert len(started) == 1
    _wait_until_listening(sessions, backend)

    follower.stop()

    assert not any(thread.is_alive() for thread in started)
