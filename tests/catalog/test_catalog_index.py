"""The product index: explicit ids, search, removal, and its readers-writer lock."""

from __future__ import annotations

import threading
import uuid

import faiss
import numpy as np
import pytest

from ebrcs.catalog import index as index_module
from ebrcs.catalog import vectors as vectors_module
from ebrcs.catalog.index import INDEX_KINDS, RAW_SPACE, ProductIndex
from ebrcs.catalog.rwlock import ReadWriteLock
from ebrcs.catalog.snapshots import read_snapshot, write_snapshot
from ebrcs.catalog.vectors import KINDS


def unit_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(params=INDEX_KINDS)
def kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    # A graph from the fifth vector on, so that these small indexes search through it.
    monkeypatch.setattr(vectors_module, "PCA_TRAIN_MIN", 5)
    return request.param


def test_search_finds_each_vector_under_its_own_id_and_product(kind: str) -> None:
    index = ProductIndex(16, kind)
    vectors = unit_vectors(30, 16, seed=1)
    ids = np.arange(101, 131)
    products = [uuid.uuid4() for _ in range(30)]
    index.add(ids, vectors, products)
    results = index.search(vectors, 3)
    assert [hits[0].embedding_id for hits in results] == ids.tolist()
    assert [hits[0].product_id for hits in results] == products
    assert all(hits[0].score == pytest.approx(1.0, abs=1e-5) for hits in results)
    assert all(
        [h.score for h in hits] == sorted((h.score for h in hits), reverse=True) for hits in results
    )
    assert index.ntotal == 30
    assert index.watermark == 130


def test_removed_ids_are_never_found_and_others_keep_their_ids(kind: str) -> None:
    index = ProductIndex(16, kind)
    vectors = unit_vectors(20, 16, seed=2)
    ids = np.arange(1, 21)
    index.add(ids, vectors, [uuid.uuid4() for _ in range(20)])
    assert index.remove([3, 7, 99]) == 2
    assert index.remove([3]) == 0
    found = {hit.embedding_id for hits in index.search(vectors, 20) for hit in hits}
    assert found == set(ids.tolist()) - {3, 7}
    assert index.search(vectors[[10]], 1)[0][0].embedding_id == 11
    assert index.ntotal == 18


def test_a_removed_id_added_again_is_found_again(kind: str) -> None:
    index = ProductIndex(8, kind)
    vectors = unit_vectors(5, 8, seed=3)
    product = uuid.uuid4()
    index.add(np.arange(1, 6), vectors, [product] * 5)
    index.remove([2])
    index.add(np.array([2]), vectors[[1]], [product])
    assert index.search(vectors[[1]], 1)[0][0].embedding_id == 2
    assert index.ntotal == 5


def test_adding_an_id_twice_keeps_one_copy(kind: str) -> None:
    index = ProductIndex(8, kind)
    vectors = unit_vectors(2, 8, seed=4)
    index.add(np.array([1, 2]), vectors, [uuid.uuid4()] * 2)
    index.add(np.array([2]), vectors[[1]], [uuid.uuid4()])
    assert index.ntotal == 2
    assert len(index.search(vectors[[1]], 5)[0]) == 2


def test_empty_index_finds_nothing(kind: str) -> None:
    index = ProductIndex(8, kind)
    assert index.search(unit_vectors(2, 8, seed=5), 5) == [[], []]


def test_writer_waits_for_readers_and_new_readers_wait_for_a_waiting_writer() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    reader_in = threading.Event()
    release_reader = threading.Event()

    def first_reader() -> None:
        with lock.read():
            reader_in.set()
            release_reader.wait()
            order.append("first reader leaves")

    def writer() -> None:
        with lock.write():
            order.append("writer")

    def late_reader() -> None:
        with lock.read():
            order.append("late reader")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    reader_in.wait()
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    while not lock._writers_waiting:  # the writer is queued behind the first reader
        threading.Event().wait(0.001)
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    release_reader.set()
    for thread in threads:
        thread.join()
    assert order == ["first reader leaves", "writer", "late reader"]


def test_readers_share_the_lock() -> None:
    lock = ReadWriteLock()
    both_inside = threading.Barrier(2, timeout=5)

    def reader() -> None:
        with lock.read():
            both_inside.wait()  # breaks (raises) if the second reader were excluded

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not both_inside.broken


def expected_prototype_scores(
    queries: np.ndarray, vectors: np.ndarray, owners: list[uuid.UUID], findable: set[int]
) -> list[dict[uuid.UUID, float]]:
    """Cosine of each query to each product's mean findable vector, recomputed from scratch."""
    means = {}
    for product in set(owners):
        rows = [i for i, owner in enumerate(owners) if owner == product and i in findable]
        if rows:
            mean = vectors[rows].astype(np.float64).sum(axis=0)
            means[product] = mean / np.linalg.norm(mean)
    return [{product: float(mean @ query) for product, mean in means.items()} for query in queries]


def assert_same_scores(got: list[dict[uuid.UUID, float]], wanted: list[dict]) -> None:
    # The index keeps float32 sums: a missed add or removal moves a score by far more.
    assert [set(row) for row in got] == [set(row) for row in wanted]
    for got_row, wanted_row in zip(got, wanted, strict=True):
        for product, score in wanted_row.items():
            assert got_row[product] == pytest.approx(score, abs=1e-6)


def test_prototypes_stay_exact_through_adds_removals_and_re_adds(kind: str) -> None:
    index = ProductIndex(8, kind)
    vectors = unit_vectors(12, 8, seed=6)
    owners = [uuid.uuid4() for _ in range(3)] * 4
    index.add(np.arange(1, 13), vectors, owners)
    queries = unit_vectors(4, 8, seed=7)
    everyone = [set(owners)] * len(queries)
    findable = set(range(12))
    assert_same_scores(
        index.prototype_scores(queries, everyone),
        expected_prototype_scores(queries, vectors, owners, findable),
    )
    index.remove([1, 4, 5])
    findable -= {0, 3, 4}
    assert_same_scores(
        index.prototype_scores(queries, everyone),
        expected_prototype_scores(queries, vectors, owners, findable),
    )
    index.add(np.array([4, 5]), vectors[[3, 4]], [owners[3], owners[4]])
    index.add(np.array([5]), vectors[[4]], [owners[4]])  # already findable: counted once
    findable |= {3, 4}
    assert_same_scores(
        index.prototype_scores(queries, everyone),
        expected_prototype_scores(queries, vectors, owners, findable),
    )


def test_a_product_whose_photos_are_all_removed_has_no_prototype(kind: str) -> None:
    index = ProductIndex(8, kind)
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    vectors = unit_vectors(4, 8, seed=8)
    index.add(np.arange(1, 5), vectors, [kept, dropped, kept, dropped])
    index.remove([2, 4])
    (scores,) = index.prototype_scores(vectors[[0]], [[kept, dropped]])
    assert set(scores) == {kept}


def test_prototypes_are_scored_only_for_each_querys_own_candidates(kind: str) -> None:
    index = ProductIndex(8, kind)
    apple, pear = uuid.uuid4(), uuid.uuid4()
    vectors = unit_vectors(2, 8, seed=9)
    index.add(np.array([1, 2]), vectors, [apple, pear])
    scores = index.prototype_scores(vectors, [[apple], [pear, apple]])
    assert [set(row) for row in scores] == [{apple}, {pear, apple}]
    assert scores[0][apple] == pytest.approx(1.0)


def test_a_restored_snapshot_has_the_same_prototypes_without_the_vectors_it_hides(
    kind: str, tmp_path
) -> None:
    index = ProductIndex(8, kind, embedder_id="test")
    vectors = unit_vectors(9, 8, seed=10)
    owners = [uuid.uuid4() for _ in range(3)] * 3
    index.add(np.arange(1, 10), vectors, owners)
    index.remove([2])
    write_snapshot(index, tmp_path / "products.faiss")
    header, parts = read_snapshot(tmp_path / "products.faiss")
    still_active = {i: owners[i - 1] for i in range(1, 10) if i not in (2, 6)}
    assert (header.kind, len(parts)) == (kind, 2 if kind == "hnsw_pca" else 1)
    # A store that only appends is written as its 9 rows (none deleted), after the graph.
    assert header.store_rows == (9 if kind == "hnsw_pca" else None)
    restored = ProductIndex.restore(
        KINDS[kind].from_parts(parts, findable=set(still_active)),
        dim=8,
        embedder_id="test",
        space=RAW_SPACE,
        watermark=header.watermark,
        products=still_active,
    )
    assert restored.search(vectors[[5]], 9)[0][0].embedding_id != 6
    queries = unit_vectors(3, 8, seed=11)
    findable = {i - 1 for i in still_active}
    assert_same_scores(
        restored.prototype_scores(queries, [set(owners)] * 3),
        expected_prototype_scores(queries, vectors, owners, findable),
    )
    restored.add(np.array([6]), vectors[[5]], [owners[5]])  # the product reactivated
    assert_same_scores(
        restored.prototype_scores(queries, [set(owners)] * 3),
        expected_prototype_scores(queries, vectors, owners, findable | {5}),
    )


def test_a_search_from_a_new_thread_runs_with_one_openmp_thread() -> None:
    index = ProductIndex(8)
    index.add(np.arange(1, 4), unit_vectors(3, 8, seed=12), [uuid.uuid4()] * 3)
    seen: list[int] = []

    def search_then_look() -> None:
        index.search(unit_vectors(1, 8, seed=13), 1)
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=search_then_look)
    worker.start()
    worker.join()
    assert seen == [1]


def test_a_registration_completes_while_a_snapshot_writes_the_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setattr(vectors_module, "PCA_TRAIN_MIN", 5)
    monkeypatch.setattr(index_module, "EXPORT_CHUNK_ROWS", 4)
    index = ProductIndex(8, "hnsw_pca", embedder_id="test")
    vectors = unit_vectors(13, 8, seed=13)
    owners = [uuid.uuid4() for _ in range(13)]
    index.add(np.arange(1, 13), vectors[:12], owners[:12])
    between_chunks, resume, changed = threading.Event(), threading.Event(), threading.Event()
    export = index.export

    def export_pausing_after_a_chunk(write_parts):
        for number, chunk in enumerate(export(write_parts)):
            if number == 1:
                between_chunks.set()
                resume.wait()
            yield chunk

    def register_and_remove() -> None:
        index.add(np.array([13]), vectors[[12]], [owners[12]])
        index.remove([1])
        changed.set()

    monkeypatch.setattr(index, "export", export_pausing_after_a_chunk)
    writer = threading.Thread(target=write_snapshot, args=(index, tmp_path / "products.faiss"))
    writer.start()
    try:
        assert between_chunks.wait(timeout=60)
        threading.Thread(target=register_and_remove, daemon=True).start()
        # Were the read lock held for the whole write, the writer would wait for `resume`.
        assert changed.wait(timeout=60), "the registration waited for the snapshot"
    finally:
        resume.set()
        writer.join()
    header, parts = read_snapshot(tmp_path / "products.faiss")
    assert (header.watermark, header.store_rows) == (12, 12)  # the moment the export began
    restored = KINDS["hnsw_pca"].from_parts(parts, findable=set(range(1, 13)))
    assert restored.stored == 12
    _, labels = restored.search(vectors[:12], 1)
    assert labels[:, 0].tolist() == list(range(1, 13))
