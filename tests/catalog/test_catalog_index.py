"""The product index: explicit ids, search, removal, and its readers-writer lock."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pytest

from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.rwlock import ReadWriteLock


def unit_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(params=["flat", "hnsw"])
def kind(request: pytest.FixtureRequest) -> str:
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
