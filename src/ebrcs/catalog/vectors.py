"""The FAISS side of the product index: one class per index kind, all keyed by embedding id.

None of these classes locks anything: ``ProductIndex`` holds its readers-writer lock around
every call (searches on the read side, changes on the write side).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import ClassVar

import faiss
import numpy as np

from ebrcs.catalog.hugepages import back_with_huge_pages

HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 256
# hnsw_pca: the graph is built over this many principal components with PCA_NEIGHBOURS links
# per vector, searched PCA_EF_SEARCH deep for RERANK_FACTOR x k candidates (at least
# RERANK_MIN), which are re-ranked exactly by their full stored vectors. Chosen from
# `ebrcs bench search` and bench/search_variants.py (docs/PERFORMANCE.md): at 1M vectors the
# exact top 192 by 128 components hold every true nearest vector, so recall is the graph's;
# 48 links per vector lift it more than a higher efConstruction, and re-ranking 96 instead of
# 192 candidates saves 0.35 ms with the same recall.
PCA_DIM = 128
PCA_NEIGHBOURS = 48
PCA_EF_CONSTRUCTION = 80
PCA_EF_SEARCH = 448
RERANK_FACTOR = 3
RERANK_MIN = 96
# The graph is made once this many vectors are stored (below it an exact scan is fast anyway),
# its projection trained on at most PCA_SAMPLE of them.
PCA_TRAIN_MIN = 4096
PCA_SAMPLE = 65536
# Rows copied at a time when a whole store is read back or fed into a graph.
CHUNK = 65536


def new_store(dim: int) -> faiss.IndexIDMap2:
    """An empty exact store of ``dim``-wide vectors keyed by id."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


class IndexedVectors(ABC):
    """Stored vectors searchable by inner product; ``add`` never sees an id already findable.

    Every kind keeps its vectors, findable or hidden, in one id-mapped FAISS index, its store
    (``parts()[0]``), from which exact vectors are read back.
    """

    kind: ClassVar[str]

    def __init__(self, dim: int, store: faiss.IndexIDMap2) -> None:
        self.dim = dim
        self._store = store

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Make these vectors findable (ids not findable now; a hidden one is revealed)."""

    @abstractmethod
    def remove(self, ids: Sequence[int]) -> None:
        """Stop finding these findable ids."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids (``-1`` padding) of the ``k`` best findable vectors per query."""

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """The exact stored vectors of these ids."""
        return self._store.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    @property
    def stored(self) -> int:
        """How many vectors the store holds, findable or hidden."""
        return self._store.ntotal

    def stored_rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The ids and vectors at store positions ``start`` to ``stop`` (copies)."""
        ids = faiss.rev_swig_ptr(self._store.id_map.data(), self._store.ntotal)[start:stop]
        inner = faiss.downcast_index(self._store.index)
        return ids.astype(np.int64), inner.reconstruct_n(start, stop - start)

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored (ids, vectors), findable or hidden, in storage order, in chunks."""
        total = self.stored
        for start in range(0, total, CHUNK):
            yield self.stored_rows(start, min(total, start + CHUNK))

    def parts(self) -> list[faiss.Index]:
        """The FAISS indexes a snapshot stores, the store first."""
        return [self._store]

    def snapshot_parts(self) -> tuple[list[faiss.Index], int | None]:
        """What a snapshot must write at once, and how many store rows it may copy later.

        The parts returned change in place and must be written while no writer runs. When
        the store only ever appends (removal hides), its first rows never change: the second
        value is how many there are now, and the store is not among the parts. None when the
        store itself is among them.
        """
        return self.parts(), None

    def lay_out(self) -> None:
        """Arrange what is stored for fast searching after a bulk load (nothing by default)."""
        return

    @classmethod
    def from_parts(cls, parts: list[faiss.Index], findable: set[int]) -> IndexedVectors:
        """Vectors read back from ``parts``; stored ids not in ``findable`` are not found."""
        vectors = cls(parts[0].d, *parts)
        stored = faiss.vector_to_array(parts[0].id_map).astype(np.int64).tolist()
        unknown = [i for i in stored if i not in findable]
        if unknown:
            vectors.remove(unknown)
        return vectors

    @property
    def hidden(self) -> int:
        """How many stored vectors are kept but not found (reclaimed by a rebuild)."""
        return 0


class FlatVectors(IndexedVectors):
    """Exact search by a scan of every vector; removal deletes (O(n) memory move)."""

    kind = "flat"

    def __init__(self, dim: int, store: faiss.IndexIDMap2 | None = None) -> None:
        super().__init__(dim, store if store is not None else new_store(dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._store.add_with_ids(vectors, ids)

    def remove(self, ids: Sequence[int]) -> None:
        self._store.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._store.search(queries, k)


class _HidingVectors(IndexedVectors):
    """A graph cannot delete: removed ids stay stored, hidden by a search-time filter."""

    def __init__(self, dim: int, store: faiss.IndexIDMap2) -> None:
        super().__init__(dim, store)
        self._hidden: set[int] = set()
        self._visible: tuple[faiss.IDSelector, ...] = ()

    @property
    def hidden(self) -> int:
        return len(self._hidden)

    def remove(self, ids: Sequence[int]) -> None:
        self._hidden.update(int(i) for i in ids)
        self._refresh_filter()

    def _split_revealed(
        self, ids: np.ndarray, vectors: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reveal the hidden ids among ``ids``; the rest (new ones) are returned to store."""
        revealed = [int(i) in self._hidden for i in ids.tolist()]
        if any(revealed):
            self._hidden.difference_update(int(i) for i in ids[revealed])
            self._refresh_filter()
        new = np.logical_not(revealed)
        return ids[new], vectors[new]

    def _refresh_filter(self) -> None:
        if not self._hidden:
            self._visible = ()
            return
        hidden = faiss.IDSelectorBatch(np.array(sorted(self._hidden), dtype=np.int64))
        # FAISS keeps raw pointers: the inner selector must live as long as the outer one.
        self._visible = (faiss.IDSelectorNot(hidden), hidden)

    def _params(self, params: faiss.SearchParameters) -> faiss.SearchParameters:
        """``params`` with the filter set; one object per search, as FAISS edits it in place."""
        if self._visible:
            params.sel = self._visible[0]
        return params


class HnswVectors(_HidingVectors):
    """An HNSW graph over the full vectors (FAISS ``IndexHNSWFlat``), which is its store."""

    kind = "hnsw"

    def __init__(self, dim: int, store: faiss.IndexIDMap2 | None = None) -> None:
        if store is None:
            inner = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            store = faiss.IndexIDMap2(inner)
        super().__init__(dim, store)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._split_revealed(ids, vectors)
        if len(ids):
            self._store.add_with_ids(vectors, ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(HNSW_EF_SEARCH, k)
        return self._store.search(queries, k, params=self._params(params))


class HnswPcaVectors(_HidingVectors):
    """Full vectors in a flat store, an HNSW graph over their principal components.

    A search walks the small graph for a few times ``k`` candidates and re-ranks them by
    their exact inner products with the stored vectors, so scores are exact and the graph
    costs ``PCA_DIM`` floats per vector. Graph distances are L2 between projections: for
    unit vectors the L2 order is the inner-product order, and the projection is centred.
    Until ``PCA_TRAIN_MIN`` vectors are stored there is no graph and the store is scanned.
    """

    kind = "hnsw_pca"

    def __init__(
        self,
        dim: int,
        store: faiss.IndexIDMap2 | None = None,
        graph: faiss.IndexPreTransform | None = None,
    ) -> None:
        super().__init__(dim, store if store is not None else new_store(dim))
        self._graph = graph

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._split_revealed(ids, vectors)
        if not len(ids):
            return
        self._store.add_with_ids(vectors, ids)
        if self._graph is not None:
            self._graph.add_with_ids(vectors, ids)
        elif self._store.ntotal >= PCA_TRAIN_MIN:
            self._make_graph()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._graph is None:
            return self._store.search(queries, k, params=self._params(faiss.SearchParameters()))
        wanted = max(k * RERANK_FACTOR, RERANK_MIN)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(PCA_EF_SEARCH, wanted)
        pca = faiss.downcast_VectorTransform(self._graph.chain.at(0))
        graph = faiss.downcast_index(self._graph.index)
        _, candidates = graph.search(pca.apply(queries), wanted, params=self._params(params))
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        labels = np.full((len(queries), k), -1, dtype=np.int64)
        for row, (query, found) in enumerate(zip(queries, candidates, strict=True)):
            found = found[found >= 0]
            exact = self._store.reconstruct_batch(found) @ query
            best = np.argsort(-exact, kind="stable")[:k]
            scores[row, : len(best)] = exact[best]
            labels[row, : len(best)] = found[best]
        return scores, labels

    def parts(self) -> list[faiss.Index]:
        return [self._store] if self._graph is None else [self._store, self._graph]

    def snapshot_parts(self) -> tuple[list[faiss.Index], int | None]:
        # The store only appends; the graph's links change as vectors join it.
        return ([] if self._graph is None else [self._graph]), self._store.ntotal

    def _make_graph(self) -> None:
        """Train the projection on a sample of the store and put every stored vector in a graph."""
        total = self._store.ntotal
        rng = np.random.default_rng(total)
        sample = np.sort(rng.choice(total, size=min(PCA_SAMPLE, total), replace=False))
        inner = faiss.downcast_index(self._store.index)
        pca = faiss.PCAMatrix(self.dim, min(PCA_DIM, self.dim, len(sample)))
        pca.train(np.stack([inner.reconstruct(int(position)) for position in sample]))
        hnsw = faiss.IndexHNSWFlat(pca.d_out, PCA_NEIGHBOURS, faiss.METRIC_L2)
        hnsw.hnsw.efConstruction = PCA_EF_CONSTRUCTION
        # The FAISS wrappers keep the projection and the id map alive with the graph.
        graph = faiss.IndexPreTransform(pca, faiss.IndexIDMap2(hnsw))
        for ids, vectors in self.chunks():
            graph.add_with_ids(vectors, ids)
        self._graph = graph
        self.lay_out()

    def lay_out(self) -> None:
        # A graph grown by adds numbers its nodes in arrival order.
        if self._graph is None:
            return
        _renumber(self._graph)
        nodes = faiss.downcast_index(faiss.downcast_index(self._graph.index).index)
        walked = [nodes.hnsw.neighbors, faiss.downcast_index(nodes.storage).codes]
        for vector in [*walked, faiss.downcast_index(self._store.index).codes]:
            if vector.size():
                back_with_huge_pages(faiss.rev_swig_ptr(vector.data(), vector.size()))

    @classmethod
    def from_parts(cls, parts: list[faiss.Index], findable: set[int]) -> IndexedVectors:
        vectors = super().from_parts(parts, findable)
        vectors.lay_out()  # a restart renumbers what adds grew
        return vectors


def _renumber(graph: faiss.IndexPreTransform) -> None:
    """Renumber the graph's nodes breadth-first from its entry point, in place, ids kept.

    Neighbours then lie near each other in memory, so a walk misses the cache less: at 1M
    vectors a search costs about a quarter less CPU (``bench/search_variants.py
    --renumbering``). Ids, links and scores are unchanged; nodes no walk reaches keep their
    order, last.
    """
    id_map = faiss.downcast_index(graph.index)
    nodes = faiss.downcast_index(id_map.index)
    if nodes.ntotal == 0:
        return
    order = _breadth_first(nodes.hnsw, nodes.ntotal)
    ids = faiss.vector_to_array(id_map.id_map)[order]
    nodes.permute_entries(order)
    faiss.copy_array_to_vector(ids, id_map.id_map)
    id_map.construct_rev_map()


def _breadth_first(hnsw: faiss.HNSW, total: int) -> np.ndarray:
    """Every node once: those the bottom level's links reach from the entry point, breadth
    first (each wave in the order the wave before links them), then the rest."""
    offsets = faiss.rev_swig_ptr(hnsw.offsets.data(), total + 1).astype(np.int64)
    links = faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size())
    columns = np.arange(hnsw.nb_neighbors(0))
    seen = np.zeros(total, dtype=bool)
    first = np.zeros(total, dtype=np.int64)
    wave = np.array([hnsw.entry_point], dtype=np.int64)
    seen[wave] = True
    waves = [wave]
    while len(wave):
        linked = links[(offsets[wave][:, None] + columns).ravel()]
        linked = linked[linked >= 0]
        linked = linked[~seen[linked]]
        # Keep each node's first mention: writing positions backwards leaves the smallest.
        at = np.arange(len(linked))
        first[linked[::-1]] = at[::-1]
        wave = linked[first[linked] == at].astype(np.int64)
        seen[wave] = True
        waves.append(wave)
    return np.concatenate([*waves, np.flatnonzero(~seen)])


KINDS: dict[str, type[IndexedVectors]] = {
    kind.kind: kind for kind in (FlatVectors, HnswVectors, HnswPcaVectors)
}
INDEX_KINDS = tuple(KINDS)
# The configured kind that lets the catalogue's size choose (see ``catalog.rebuild``).
AUTO_KIND = "auto"
# The kind an automatic index becomes once the catalogue is large (docs/PERFORMANCE.md).
ANN_KIND = HnswPcaVectors.kind


def new_vectors(kind: str, dim: int) -> IndexedVectors:
    """Empty vectors of this index kind; ``auto`` starts flat (``IndexKindSwitch`` moves it)."""
    if kind == AUTO_KIND:
        kind = FlatVectors.kind
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r}; choose one of {INDEX_KINDS}")
    return KINDS[kind](dim)
