"""Keeping each process's index in step with catalogue changes committed by any process.

The database is the truth. A transaction that adds or (de)activates vectors calls
``announce_change`` before it commits; on PostgreSQL that is a ``NOTIFY`` delivered to every
listening process at commit, and each ``CatalogFollower`` then applies what changed. A poll
does the same on a timer, so a missed notification (or SQLite, which has none) only delays
an update and never loses one:

- additions are the rows past the index's watermark: embedding ids become visible in commit
  order (see ``allocate_embedding_ids``), so nothing below the watermark can appear later;
- (de)activations name their products in the notification, and a periodic full
  reconciliation of the active ids catches any that were missed;
- a new recognition adapter put in force is announced as ``adapter``; each step compares
  the version in force with the index's and, when they differ, rebuilds the index in the
  new vector space beside the old one and swaps it in (``catalog.rebuild``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import adapters, service
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.rebuild import rebuild

log = logging.getLogger(__name__)

CHANNEL = "ebrcs_catalog"
ADAPTER_PAYLOAD = "adapter"
NOTIFY_BATCH = 64
DRAIN_SECONDS = 0.005
STOP_CHECK_SECONDS = 0.05
STOP_TIMEOUT_SECONDS = 10.0
ID_BATCH = 1000


def announce_change(*, db: Session, product_id: uuid.UUID) -> None:
    """Tell every process, when ``db`` commits, that this product's vectors changed."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": str(product_id)},
        )


def announce_adapter(*, db: Session) -> None:
    """Tell every process, when ``db`` commits, that another adapter is in force."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": ADAPTER_PAYLOAD},
        )


@dataclass(frozen=True)
class SyncResult:
    """What one synchronisation step changed in the index."""

    added: int = 0
    removed: int = 0


def catch_up(*, db: Session, index: ProductIndex) -> SyncResult:
    """Add the active vectors committed past the index's watermark."""
    with index.commit_lock:
        # The database's highest id is read first: rows committed later are the next step's.
        highest = service.highest_embedding_id(db=db)
        added = 0
        if highest > index.watermark:
            for stored in service.iter_active_vectors(db=db, above=index.watermark, up_to=highest):
                index.add(stored.embedding_ids, stored.vectors, stored.product_ids)
                added += len(stored.embedding_ids)
            index.mark_applied(highest)
        db.commit()
    return SyncResult(added=added)


def reconcile(
    *, db: Session, index: ProductIndex, product_ids: Iterable[uuid.UUID] | None = None
) -> SyncResult:
    """Make the index hold exactly the active vectors up to its watermark.

    With ``product_ids`` only those products are checked; without, the whole catalogue.
    """
    with index.commit_lock:
        owners = service.active_vector_owners(db=db, up_to=index.watermark, product_ids=product_ids)
        present = index.ids_of(product_ids)
        stale = present - set(owners)
        missing = set(owners) - present
        removed = index.remove(stale) if stale else 0
        added = 0
        ordered = sorted(missing)
        for start in range(0, len(ordered), ID_BATCH):
            stored = service.vectors_by_id(db=db, embedding_ids=ordered[start : start + ID_BATCH])
            index.add(stored.embedding_ids, stored.vectors, stored.product_ids)
            added += len(stored.embedding_ids)
        db.commit()
    return SyncResult(added=added, removed=removed)


class CatalogFollower:
    """A background thread applying other processes' catalogue changes to this index."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: ProductIndex,
        *,
        listen_dsn: str | None,
        poll_seconds: float,
        reconcile_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._listen_dsn = listen_dsn
        self._poll_seconds = poll_seconds
        self._reconcile_seconds = reconcile_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalog-follower", daemon=True)
        self._unusable_adapter: int | None = None

    def start(self) -> CatalogFollower:
        """Start following; returns itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following and wait for the thread (within ``STOP_CHECK_SECONDS`` when idle)."""
        self._stop.set()
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            log.warning("catalogue follower still busy %.0f s after stop", STOP_TIMEOUT_SECONDS)

    def _run(self) -> None:
        next_reconcile = time.monotonic() + self._reconcile_seconds
        while not self._stop.is_set():
            try:
                with self._notifications() as wait_for_changes:
                    self._apply(changed=set())  # whatever was committed before listening
                    while not self._stop.is_set():
                        self._apply(changed=wait_for_changes(self._poll_seconds))
                        if time.monotonic() >= next_reconcile:
                            next_reconcile = time.monotonic() + self._reconcile_seconds
                            self._reconcile_all()
            except (SQLAlchemyError, psycopg.Error, ValueError) as error:
                log.warning("catalogue sync failed, retrying: %s", error)
                self._stop.wait(self._poll_seconds)

    @contextmanager
    def _notifications(self) -> Iterator[Callable[[float], set[uuid.UUID]]]:
        """A function waiting up to a timeout for changed product ids (empty on a poll)."""
        if not self._listen_dsn:

            def poll(timeout: float) -> set[uuid.UUID]:
                self._stop.wait(timeout)
                return set()

            yield poll
            return
        with psycopg.connect(self._listen_dsn, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")

            def listen(timeout: float) -> set[uuid.UUID]:
                notes: list[psycopg.Notify] = []
                deadline = time.monotonic() + timeout
                # In short slices, so that stop() is answered at once, not after a whole poll.
                while not notes and not self._stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    slice_seconds = min(left, STOP_CHECK_SECONDS)
                    notes = list(connection.notifies(timeout=slice_seconds, stop_after=1))
                if notes:  # apply at once, with whatever else is already queued
                    notes += connection.notifies(timeout=DRAIN_SECONDS, stop_after=NOTIFY_BATCH)
                return {uuid.UUID(n.payload) for n in notes if n.payload != ADAPTER_PAYLOAD}

            yield listen

    def _apply(self, *, changed: set[uuid.UUID]) -> None:
        with self._sessions() as db:
            result = catch_up(db=db, index=self._index)
            if changed:
                reconcile(db=db, index=self._index, product_ids=changed)
        if result.added:
            log.info("applied %d vectors committed by other processes", result.added)
        self.follow_adapter()

    def follow_adapter(self) -> bool:
        """Switch the index to the adapter in force if it uses another; whether it switched.

        The new index is built beside the live one, which answers searches meanwhile;
        changes committed during the build are in it when it is swapped in.
        """
        index = self._index
        if index.embedder_id is None:
            return False
        with self._sessions() as db:
            wanted = adapters.version_in_force(db=db, embedder_id=index.embedder_id)
            if wanted == adapters.space_version(index.space) or wanted == self._unusable_adapter:
                return False
            try:
                space = adapters.space_for(
                    db=db, version=wanted, embedder_id=index.embedder_id, embedder_dim=index.dim
                )
            except adapters.AdapterUnusable as error:
                self._unusable_adapter = wanted
                log.error("adapter %d is not used; keeping %s: %s", wanted, index.space.tag, error)
                return False
        began = time.monotonic()
        rebuild(sessions=self._sessions, index=index, space=space)
        log.info("index switched to %s in %.2f s", space.tag, time.monotonic() - began)
        return True

    def _reconcile_all(self) -> None:
        with self._sessions() as db:
            result = reconcile(db=db, index=self._index)
        if result.added or result.removed:
            log.warning("reconciliation repaired the index: %s", result)
