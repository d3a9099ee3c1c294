"""Engines and sessions: one engine per process, sessions handed to services explicitly."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.config import Settings, get_settings


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas each backend needs for durability and concurrency."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            # Autocommit off in the driver; SQLAlchemy emits BEGIN itself (see "begin" below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            # Take the write lock at BEGIN so read-then-write transactions never deadlock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache
def engine_for(url: str) -> Engine:
    """The process-wide engine for a URL."""
    return make_engine(url)


def session_factory(settings: Settings | None = None) -> sessionmaker[Session]:
    """A session factory bound to the configured database."""
    settings = settings or get_settings()
    return sessionmaker(engine_for(settings.resolved_database_url), expire_on_commit=False)
