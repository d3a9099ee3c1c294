"""Building a new live index from the database in the background and swapping it in.

The old index keeps answering while the new one is built with no lock held. Every change
applied to the old index meanwhile (registrations, removals, other processes' changes the
follower applies) is journalled; under ``commit_lock`` the journal is replayed onto the new
index and the two are swapped in O(1), so nothing committed during the build is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass

import faiss
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import service
from ebrcs.catalog.index import SEARCH_OPENMP_THREADS, ProductIndex, VectorSpace
from ebrcs.catalog.vectors import ANN_KIND

log = logging.getLogger(__name__)

# Linux gives each thread its own niceness: a build yields the CPU to request threads.
BUILD_NICENESS = 10


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild swapped in."""

    kind: str
    space: str
    vectors: int
    replayed: int
    seconds: float


def build_from_database(
    *,
    sessions: sessionmaker[Session],
    dim: int,
    embedder_id: str | None,
    kind: str,
    space: VectorSpace,
) -> ProductIndex:
    """A new index of every active vector the database holds now (no lock of any index)."""
    built = ProductIndex(dim, kind, embedder_id=embedder_id, space=space)
    with sessions() as db:
        # Read the highest id first: rows committed later reach the old index and its journal.
        watermark = service.highest_embedding_id(db=db)
        db.commit()
    # Short transactions, mapped outside them: (de)activations committed between two batches
    # are in the journal the swap replays, so the index still ends up as the database is.
    for stored in service.read_active_vectors(sessions=sessions, up_to=watermark):
        built.add(stored.embedding_ids, stored.vectors, stored.product_ids)
    built.lay_out()  # before the swap: the graph it grew is renumbered for fast walks
    built.mark_applied(watermark)
    return built


def rebuild(
    *,
    sessions: sessionmaker[Session],
    index: ProductIndex,
    kind: str | None = None,
    space: VectorSpace | None = None,
    threads: int = 1,
) -> RebuildResult:
    """Rebuild ``index`` as ``kind`` in ``space`` (default: its own) and swap it in.

    Blocks for the build (run it in a thread: ``start_rebuild``); one rebuild per index at a
    time. ``threads`` is the OpenMP team FAISS may use for this build (searches keep one).
    """
    with index.rebuild_lock:
        began = time.monotonic()
        kind = kind or index.kind
        space = space or index.space
        faiss.omp_set_num_threads(threads)  # this thread's OpenMP setting only
        with index.commit_lock:
            # Under commit_lock no change is half-applied: each one is either in the
            # database the build reads, or journalled (or both; replaying is idempotent).
            index.start_journal()
        try:
            built = build_from_database(
                sessions=sessions,
                dim=index.dim,
                embedder_id=index.embedder_id,
                kind=kind,
                space=space,
            )
        except BaseException:
            index.stop_journal()
            raise
        finally:
            faiss.omp_set_num_threads(SEARCH_OPENMP_THREADS)
        with index.commit_lock:
            replayed = index.replay_journal(built)
            index.swap_in(built)
        result = RebuildResult(kind, space.tag, index.ntotal, replayed, time.monotonic() - began)
    log.info("index rebuilt and swapped in: %s", result)
    return result


def start_rebuild(
    *,
    sessions: sessionmaker[Session],
    index: ProductIndex,
    kind: str | None = None,
    space: VectorSpace | None = None,
    threads: int = 1,
) -> threading.Thread:
    """Run ``rebuild`` in a low-priority background thread; returns the started thread."""

    def _run() -> None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BUILD_NICENESS)
        try:
            rebuild(sessions=sessions, index=index, kind=kind, space=space, threads=threads)
        except Exception:
            log.exception("index rebuild failed; the index in force keeps answering")

    thread = threading.Thread(target=_run, name="index-rebuild", daemon=True)
    thread.start()
    return thread


def wanted_kind(*, current: str, vectors: int, ann_min_vectors: int) -> str:
    """The kind an automatic index should be: flat while small, the ANN kind when large.

    It goes back to flat only below half the threshold, so a catalogue hovering around it
    is not rebuilt back and forth.
    """
    if vectors >= ann_min_vectors:
        return ANN_KIND
    if vectors < ann_min_vectors // 2:
        return "flat"
    return current


class IndexKindSwitch:
    """A background thread keeping an automatic index's kind right for the catalogue's size.

    It also rebuilds a graph whose hidden (removed) vectors have grown past ``max_hidden``
    of those it finds, which reclaims their memory.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: ProductIndex,
        *,
        ann_min_vectors: int,
        check_seconds: float,
        max_hidden: float,
        threads: int,
    ) -> None:
        self._sessions = sessions
        self._index = index
        self._ann_min_vectors = ann_min_vectors
        self._check_seconds = check_seconds
        self._max_hidden = max_hidden
        self._threads = threads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-kind-switch", daemon=True)

    def start(self) -> IndexKindSwitch:
        """Start checking; returns itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop checking; a rebuild under way finishes or dies with the process."""
        self._stop.set()
        self._thread.join(timeout=1)

    def due(self) -> str | None:
        """The kind to rebuild as now, or None when the index is right as it is."""
        index = self._index
        kind = wanted_kind(
            current=index.kind, vectors=index.ntotal, ann_min_vectors=self._ann_min_vectors
        )
        if kind != index.kind or index.hidden > self._max_hidden * max(index.ntotal, 1):
            return kind
        return None

    def check(self) -> RebuildResult | None:
        """Rebuild (blocking) if ``due``; returns what was swapped in."""
        kind = self.due()
        if kind is None:
            return None
        log.info(
            "rebuilding the %s index of %d vectors as %s",
            self._index.kind,
            self._index.ntotal,
            kind,
        )
        return rebuild(sessions=self._sessions, index=self._index, kind=kind, threads=self._threads)

    def _run(self) -> None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BUILD_NICENESS)
        while not self._stop.wait(self._check_seconds):
            try:
                self.check()
            except Exception:
                log.exception("index rebuild failed; the index in force keeps answering")
