"""Fitting the recognition adapter on the registered photos, in the background.

A fit reads the catalogue (the stored raw vectors, and the photo files, which the fit decodes
one at a time), fits with ``ebrcs.adaptation.fit_adapter``, and only when it has finished
writes the new ``adapters`` row, retiring the old one, in one transaction that also announces
the change. A fit that fails, runs out of time or dies with its process writes nothing: the
old adapter stays in force. Every process then switches through the catalogue sync
(``catalog.sync``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.adaptation.fit import AdapterConfig, Progress, fit_adapter
from ebrcs.catalog import adapters, service
from ebrcs.catalog.models import Product, ProductImage, StoredAdapter
from ebrcs.catalog.sync import announce_adapter
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder

log = logging.getLogger(__name__)

FIT_LOCK_SUFFIX = ".adapter-fit.lock"
# Key of the PostgreSQL advisory lock that lets one process of a deployment fit at a time.
FIT_LOCK_KEY = 0x4542_5243_5341_4450  # "EBRCSADP"
BACKGROUND_NICENESS = 10
STOP_TIMEOUT_SECONDS = 10.0


def photos_to_fit(*, db: Session, images_dir: Path, up_to: int) -> dict[uuid.UUID, list[Path]]:
    """The photo files of every active product, of rows with embedding ids up to ``up_to``."""
    rows = db.execute(
        select(ProductImage.product_id, ProductImage.image_path)
        .join(Product, Product.id == ProductImage.product_id)
        .where(
            Product.is_active.is_(True),
            ProductImage.embedding_id <= up_to,
            ProductImage.image_path != "",
        )
        .order_by(ProductImage.product_id, ProductImage.embedding_id)
    )
    paths: dict[uuid.UUID, list[str]] = {}
    for product_id, image_path in rows:
        paths.setdefault(product_id, []).append(image_path)
    return {product: [images_dir / file for file in files] for product, files in paths.items()}


def vectors_to_fit(*, sessions: sessionmaker[Session], up_to: int) -> dict[uuid.UUID, np.ndarray]:
    """The stored raw vectors of every active product up to ``up_to`` (imported ones too)."""
    parts: dict[uuid.UUID, list[np.ndarray]] = {}
    for stored in service.read_active_vectors(sessions=sessions, up_to=up_to):
        for product_id, vector in zip(stored.product_ids, stored.vectors, strict=True):
            parts.setdefault(product_id, []).append(vector)
    return {product: np.stack(vectors) for product, vectors in parts.items()}


def refit_reason(*, db: Session, settings: Settings, embedder_id: str) -> str | None:
    """Why the adapter should be refitted now, or None when it need not be.

    Adapters switched off (``ebrcs catalog adapt --off``) stay off until the next explicit fit.
    """
    fitted = adapters.in_force(db=db, embedder_id=embedder_id)
    if fitted is None:
        if adapters.ever_fitted(db=db, embedder_id=embedder_id):
            return None
        products = adapters.catalogue_state(db=db).products
        if products >= settings.adapter_min_products:
            return f"no adapter yet and {products} products with photos"
        return None
    changed = adapters.vectors_changed_since(db=db, fitted=fitted)
    share = changed / max(fitted.catalogue_vectors, 1)
    if share >= settings.adapter_refit_share:
        return (
            f"{changed} vectors added or removed since adapter {fitted.version} "
            f"({share:.0%} of {fitted.catalogue_vectors})"
        )
    return None


def fit_and_store(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    embedder: Embedder,
    config: AdapterConfig | None = None,
    progress: Progress | None = None,
) -> StoredAdapter:
    """Fit an adapter on the catalogue as it is now and put it in force for every process.

    Registrations made during the fit are not in it (they are adapted by it once it is in
    force, and count towards the next refit). Raises ``ValueError`` when the catalogue has
    fewer than two products and ``FitDeadlineExceeded`` past ``adapter_fit_max_seconds``.
    """
    with sessions() as db:
        state = adapters.catalogue_state(db=db)
        photos = photos_to_fit(db=db, images_dir=settings.images_dir, up_to=state.watermark)
    raw = vectors_to_fit(sessions=sessions, up_to=state.watermark)
    began = time.monotonic()
    adapter = fit_adapter(
        photos,
        embedder,
        raw_by_product=raw,
        seed=settings.adapter_fit_seed,
        config=config,
        progress=progress or _log_progress,
        deadline_seconds=settings.adapter_fit_max_seconds,
    )
    seconds = time.monotonic() - began
    with sessions() as db:
        row = adapters.save(
            db=db,
            adapter=adapter,
            embedder_id=embedder.id,
            embedder_dim=embedder.dim,
            fitted_on=state,
            fit_seconds=seconds,
        )
        announce_adapter(db=db)
        db.commit()
    log.info(
        "adapter %d (%s) in force: fitted on %d products, %d vectors in %.1f s",
        row.version,
        adapter.version,
        state.products,
        state.vectors,
        seconds,
    )
    return row


@contextlib.contextmanager
def fit_lock(*, settings: Settings, sessions: sessionmaker[Session]) -> Iterator[bool]:
    """Whether this process may fit now: one fit at a time in a deployment.

    PostgreSQL: an advisory lock held by one connection for the whole fit; SQLite: an
    exclusive lock on a file beside the database. Both go away with a crashed process.
    """
    with sessions() as db:
        engine = db.get_bind()
    if engine.dialect.name == "postgresql":
        # One connection held for the whole fit: the lock belongs to it, not to a pool.
        with engine.connect() as connection:
            lock = text("SELECT pg_try_advisory_lock(:key)")
            acquired = bool(connection.scalar(lock, {"key": FIT_LOCK_KEY}))
            connection.commit()  # no transaction stays open while the fit runs
            try:
                yield acquired
            finally:
                if acquired:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": FIT_LOCK_KEY}
                    )
                    connection.commit()
        return
    database = engine.url.database
    if database and database != ":memory:":
        lock_path = Path(database).with_name(Path(database).name + FIT_LOCK_SUFFIX)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock_path = settings.data_dir / FIT_LOCK_SUFFIX.lstrip(".")
    with lock_path.open("a") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


class RefitStopped(RuntimeError):
    """The server stopped while its refit was under way; nothing was stored."""


class AdapterRefitter:
    """A background thread that refits the adapter when the catalogue has changed enough.

    It runs at a lower CPU priority than the request threads, never holds a lock the live
    index needs, and leaves the switch to the catalogue follower of every process.
    """

    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, embedder: Embedder
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._embedder = embedder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="adapter-refit", daemon=True)

    def start(self) -> AdapterRefitter:
        """Start checking; returns itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking, abandoning a fit under way at its next step (nothing is stored)."""
        self._stop.set()
        self._thread.join(timeout=STOP_TIMEOUT_SECONDS)

    def refit_if_due(self) -> StoredAdapter | None:
        """Fit now if the catalogue changed enough and no other process is fitting."""
        with self._sessions() as db:
            reason = refit_reason(db=db, settings=self._settings, embedder_id=self._embedder.id)
        if reason is None:
            return None
        with fit_lock(settings=self._settings, sessions=self._sessions) as mine:
            if not mine:
                log.info("adapter refit due (%s) but another process is fitting", reason)
                return None
            log.info("refitting the adapter: %s", reason)
            return fit_and_store(
                sessions=self._sessions,
                settings=self._settings,
                embedder=self._embedder,
                progress=self._unless_stopped,
            )

    def _unless_stopped(self, done: int, total: int) -> None:
        """Progress of the server's own fit, which ends it once the server stops."""
        if self._stop.is_set():
            raise RefitStopped(f"the server stopped after step {done} of {total} of the fit")
        _log_progress(done, total)

    def _run(self) -> None:
        # Linux gives each thread its own niceness: only this thread's fit yields the CPU.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
        while not self._stop.wait(self._settings.adapter_check_seconds):
            try:
                self.refit_if_due()
            except RefitStopped as stopped:
                log.info("adapter refit abandoned: %s", stopped)
            except Exception:
                # Whatever failed, the adapter in force is untouched; the next check retries.
                log.exception("adapter refit failed; the adapter in force is kept")


def _log_progress(done: int, total: int) -> None:
    log.debug("adapter fit: step %d of %d", done, total)
