"""The live product index: nearest stored vectors of active products, over explicit ids."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np

from ebrcs.catalog.rwlock import ReadWriteLock
from ebrcs.catalog.vectors import INDEX_KINDS, IndexedVectors, new_vectors
from ebrcs.recognition.types import Hit

__all__ = ["INDEX_KINDS", "RAW_SPACE", "Change", "IndexExport", "ProductIndex", "VectorSpace"]

# Parallelism comes from concurrent reader threads (FAISS releases the GIL); an OpenMP team
# inside every single-query search only oversubscribes the cores. Measured on the 2-core
# box: one 20k-vector search took 18 ms with one OpenMP thread and 78 ms with two. The
# OpenMP setting is per thread (a new thread starts with one per core), so every searching
# thread sets it for itself (``_one_openmp_thread``).
SEARCH_OPENMP_THREADS = 1
# Store rows an export copies per hold of the read lock: 2,048 rows of 1280-d are 10 MB, so a
# writer waits tens of milliseconds at most, not for a whole snapshot (5 GB at 1M vectors).
EXPORT_CHUNK_ROWS = 2048


def _one_openmp_thread() -> None:
    """Make FAISS calls from the current thread use SEARCH_OPENMP_THREADS."""
    if faiss.omp_get_max_threads() != SEARCH_OPENMP_THREADS:
        faiss.omp_set_num_threads(SEARCH_OPENMP_THREADS)


@dataclass(frozen=True)
class VectorSpace:
    """How raw vectors (embedder output, database rows) become the vectors an index holds.

    ``tag`` names the space (e.g. an adapter version) in snapshots: a snapshot made in
    another space is stale. ``transform`` maps ``(n, raw dim)`` float32 rows to ``(n, dim)``
    unit rows; None keeps raw vectors as they are. ``dim`` is the output dimension when it
    differs from the raw one.
    """

    tag: str = "raw"
    transform: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)
    dim: int | None = None

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` in this space, as contiguous float32 rows."""
        if self.transform is not None:
            vectors = self.transform(vectors)
        return np.ascontiguousarray(vectors, dtype=np.float32)


RAW_SPACE = VectorSpace()


@dataclass(frozen=True)
class Change:
    """One change applied to an index, as a rebuild replays it: raw vectors, in order."""

    added: bool
    embedding_ids: np.ndarray
    vectors: np.ndarray | None = None
    product_ids: Sequence[uuid.UUID] = ()


@dataclass(frozen=True)
class IndexExport:
    """An index at one moment, as a snapshot writes it (``ProductIndex.export``).

    ``parts`` are the FAISS indexes to write at once; ``store_rows`` is how many store rows
    follow them (None when the store is among the parts).
    """

    kind: str
    space: VectorSpace
    watermark: int
    parts: list[faiss.Index]
    store_rows: int | None


@dataclass
class _Content:
    """Everything a swap replaces at once."""

    kind: str
    space: VectorSpace
    vectors: IndexedVectors
    products: dict[int, uuid.UUID] = field(default_factory=dict)
    sums: dict[uuid.UUID, np.ndarray] = field(default_factory=dict)
    counts: dict[uuid.UUID, int] = field(default_factory=dict)
    watermark: int = 0


class ProductIndex:
    """Nearest stored vectors of active products, by inner product (cosine on unit vectors).

    Thread-safety: every method may be called from any thread. ``search`` holds the read side
    of a writer-preferring lock, so searches run in parallel; ``add``, ``remove`` and
    ``swap_in`` hold the write side. Nothing slow (embedding, database, disk) ever happens
    under that lock.

    Ordering: the index follows the database. Callers that commit a change and then apply it
    hold ``commit_lock`` across both steps, so changes reach the index in commit order.
    Vectors are keyed by their ``embedding_id``; ids are never reused, so a vector never
    changes under its id.

    Kinds (``ebrcs.catalog.vectors``): ``flat`` scans every vector exactly; ``hnsw`` and
    ``hnsw_pca`` are approximate graphs for large catalogues, which hide removed ids at
    search time (at once) and reveal them when re-added.

    Space: callers always pass raw vectors (``dim`` wide); the index maps them, and every
    query, through its ``VectorSpace`` and holds the results.

    Prototypes: for every product with findable vectors the index keeps the running sum of
    those vectors (float32, 4 bytes per dimension per product) and their count, updated in
    O(vectors changed) under the same write lock, so a product's prototype (its mean photo
    direction) is always exactly in step with what ``search`` finds.
    """

    def __init__(
        self,
        dim: int,
        kind: str = "flat",
        *,
        embedder_id: str | None = None,
        space: VectorSpace = RAW_SPACE,
    ) -> None:
        self.dim = dim
        self.embedder_id = embedder_id
        self.commit_lock = threading.Lock()
        self.rebuild_lock = threading.Lock()  # one background rebuild at a time (catalog.rebuild)
        self._lock = ReadWriteLock()
        vectors = new_vectors(kind, space.dim or dim)
        self._content = _Content(vectors.kind, space, vectors)
        self._journal: list[Change] | None = None
        self._version = 0

    @property
    def kind(self) -> str:
        """The index kind now answering searches."""
        return self._content.kind

    @property
    def space(self) -> VectorSpace:
        """The vector space the index holds its vectors in."""
        return self._content.space

    @property
    def ntotal(self) -> int:
        """How many vectors can be found now."""
        return len(self._content.products)

    @property
    def hidden(self) -> int:
        """How many removed vectors a graph index still stores (a rebuild reclaims them)."""
        return self._content.vectors.hidden

    @property
    def watermark(self) -> int:
        """The highest embedding id this index has applied (found, hidden or skipped)."""
        return self._content.watermark

    @property
    def version(self) -> int:
        """A number that changes whenever the content changes (for snapshot scheduling)."""
        return self._version

    def add(
        self, embedding_ids: np.ndarray, vectors: np.ndarray, product_ids: Sequence[uuid.UUID]
    ) -> None:
        """Make raw ``vectors`` findable under their ids; ids already present are ignored."""
        ids = np.ascontiguousarray(embedding_ids, dtype=np.int64).reshape(-1)
        raw = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        if len(product_ids) != len(ids):
            raise ValueError("one product id is needed per vector")
        space = self.space
        mapped = space.apply(raw)  # outside the lock; redone only if a swap changed the space
        with self._lock.write():
            content = self._content
            if content.space is not space:
                mapped = content.space.apply(raw)
            fresh = [p for p, i in enumerate(ids.tolist()) if i not in content.products]
            if fresh:
                content.vectors.add(ids[fresh], mapped[fresh])
                for position in fresh:
                    content.products[int(ids[position])] = product_ids[position]
                    self._count_in(product_ids[position], mapped[position])
                if self._journal is not None:
                    owners = [product_ids[p] for p in fresh]
                    self._journal.append(Change(True, ids[fresh], raw[fresh], owners))
            if len(ids):
                content.watermark = max(content.watermark, int(ids.max()))
            self._version += 1

    def lay_out(self) -> None:
        """Arrange the vectors for fast searching once a bulk load is done (writer held)."""
        with self._lock.write():
            self._content.vectors.lay_out()

    def remove(self, embedding_ids: Iterable[int]) -> int:
        """Stop finding these ids at once; returns how many were findable."""
        wanted = [int(i) for i in embedding_ids]
        with self._lock.write():
            content = self._content
            present = [i for i in dict.fromkeys(wanted) if i in content.products]
            if not present:
                return 0
            removed = content.vectors.reconstruct(present)
            for embedding_id, vector in zip(present, removed, strict=True):
                self._count_out(content.products.pop(embedding_id), vector)
            content.vectors.remove(present)
            if self._journal is not None:
                self._journal.append(Change(False, np.array(present, dtype=np.int64)))
            self._version += 1
            return len(present)

    def mark_applied(self, embedding_id: int) -> None:
        """Record that every id up to ``embedding_id`` has been considered."""
        with self._lock.write():
            self._content.watermark = max(self._content.watermark, embedding_id)

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """The ``k`` nearest vectors of each raw query, best first."""
        raw = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        _one_openmp_thread()
        with self._lock.read():
            content = self._content
            if not content.products or k < 1:
                return [[] for _ in range(len(raw))]
            k = min(k, len(content.products))
            scores, labels = content.vectors.search(content.space.apply(raw), k)
            products = content.products
            return [
                [
                    Hit(embedding_id=label, product_id=products[label], score=score)
                    for score, label in zip(row_scores.tolist(), row_labels.tolist(), strict=True)
                    if label >= 0 and label in products
                ]
                for row_scores, row_labels in zip(scores, labels, strict=True)
            ]

    def prototype_scores(
        self, queries: np.ndarray, candidates: Sequence[Iterable[uuid.UUID]]
    ) -> list[dict[uuid.UUID, float]]:
        """Cosine of each raw query to the prototype (mean findable vector) of its candidates.

        ``candidates[i]`` are the products to score for ``queries[i]``, typically those its
        nearest-neighbour search found; products with no findable vector left are omitted.
        """
        raw = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if len(candidates) != len(raw):
            raise ValueError("one candidate list is needed per query")
        scored = []
        with self._lock.read():
            sums = self._content.sums
            mapped = self._content.space.apply(raw)
            for query, products in zip(mapped, candidates, strict=True):
                known = [p for p in dict.fromkeys(products) if p in sums]
                if not known:
                    scored.append({})
                    continue
                stacked = np.stack([sums[p] for p in known])
                cosines = stacked @ query / np.maximum(np.linalg.norm(stacked, axis=1), 1e-12)
                scored.append(dict(zip(known, cosines.tolist(), strict=True)))
        return scored

    def ids(self) -> set[int]:
        """The ids that can be found now."""
        with self._lock.read():
            return set(self._content.products)

    def ids_of(self, product_ids: Iterable[uuid.UUID] | None) -> set[int]:
        """The findable ids of these products (all ids when None); a scan of the id map."""
        if product_ids is None:
            return self.ids()
        wanted = set(product_ids)
        with self._lock.read():
            return {i for i, product in self._content.products.items() if product in wanted}

    def export(
        self, write_parts: Callable[[IndexExport], None]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Export the index as it is now: ``write_parts`` now, then the store's rows.

        ``write_parts(export)`` runs under the read lock (writers wait, searches go on) with
        the parts that change in place. The store rows of that same moment, if the store
        only appends, are then yielded as (ids, vectors), ``EXPORT_CHUNK_ROWS`` at a time,
        each chunk copied under the read lock: changes made meanwhile append rows after
        them or hide ids, which a snapshot's reader re-derives from the database.
        """
        with self._lock.read():
            content = self._content
            parts, rows = content.vectors.snapshot_parts()
            write_parts(IndexExport(content.kind, content.space, content.watermark, parts, rows))
        return self._store_rows(content.vectors, rows or 0)

    def _store_rows(
        self, vectors: IndexedVectors, rows: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # After a swap ``vectors`` is no longer live, so nothing changes it any more.
        for start in range(0, rows, EXPORT_CHUNK_ROWS):
            with self._lock.read():
                chunk = vectors.stored_rows(start, min(rows, start + EXPORT_CHUNK_ROWS))
            yield chunk

    def start_journal(self) -> None:
        """Record every change from now on, for ``replay_journal`` (caller holds commit_lock)."""
        with self._lock.write():
            self._journal = []

    def stop_journal(self) -> list[Change]:
        """Stop recording; returns the changes recorded since ``start_journal``."""
        with self._lock.write():
            journal, self._journal = self._journal or [], None
            return journal

    def replay_journal(self, built: ProductIndex) -> int:
        """Apply the changes recorded here onto ``built``, in order; returns how many.

        The caller holds ``commit_lock``, so no change can slip between replay and swap.
        """
        journal = self.stop_journal()
        for change in journal:
            if change.added:
                built.add(change.embedding_ids, change.vectors, change.product_ids)
            else:
                built.remove(change.embedding_ids.tolist())
        built.mark_applied(self.watermark)
        return len(journal)

    def swap_in(self, built: ProductIndex) -> None:
        """Replace this index's content by ``built``'s in O(1); ``built`` is spent.

        The caller holds ``commit_lock`` (and replayed what changed while ``built`` was
        being made), so the swapped-in content is exactly in step with the database. Searches
        before the swap see the old content whole, searches after it the new.
        """
        if built.dim != self.dim or built.embedder_id != self.embedder_id:
            raise ValueError("a swapped-in index must have the same raw dimension and embedder")
        with self._lock.write():
            self._content, built._content = built._content, self._content
            self._version += 1

    @classmethod
    def restore(
        cls,
        vectors: IndexedVectors,
        *,
        dim: int,
        embedder_id: str | None,
        space: VectorSpace,
        watermark: int,
        products: dict[int, uuid.UUID],
    ) -> ProductIndex:
        """An index around vectors read from a snapshot; ``products`` are the findable ids.

        ``vectors`` must already hide (or have dropped) every stored id not in ``products``.
        """
        index = cls(dim, vectors.kind, embedder_id=embedder_id, space=space)
        content = index._content
        content.vectors, content.watermark = vectors, watermark
        for ids, stored in vectors.chunks():
            for embedding_id, vector in zip(ids.tolist(), stored, strict=True):
                product = products.get(embedding_id)
                if product is not None:
                    content.products[embedding_id] = product
                    index._count_in(product, vector)
        return index

    def _count_in(self, product_id: uuid.UUID, vector: np.ndarray) -> None:
        """Add one findable vector to its product's prototype sum (writer held)."""
        content = self._content
        total = content.sums.get(product_id)
        if total is None:
            content.sums[product_id] = vector.astype(np.float32)  # a copy
            content.counts[product_id] = 1
        else:
            total += vector
            content.counts[product_id] += 1

    def _count_out(self, product_id: uuid.UUID, vector: np.ndarray) -> None:
        """Take one vector out of its product's sum; the last one drops the product (writer)."""
        content = self._content
        if content.counts[product_id] == 1:
            # Dropping the entry instead of subtracting leaves no rounding residue behind.
            del content.sums[product_id], content.counts[product_id]
        else:
            content.sums[product_id] -= vector
            content.counts[product_id] -= 1
