"""Background rebuilds: a new index built from the database, swapped in with nothing lost."""

from __future__ import annotations

import os
import threading
import uuid

import faiss
import numpy as np
import pytest
from catalog_fixtures import ColourEmbedder, open_index, photo, register_product
from sqlalchemy import select

from ebrcs.catalog import flows, rebuild
from ebrcs.catalog import vectors as vectors_module
from ebrcs.catalog.index import ProductIndex, VectorSpace
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.catalog.rebuild import IndexKindSwitch, wanted_kind
from ebrcs.catalog.snapshots import write_snapshot
from ebrcs.catalog.vectors import HnswPcaVectors
from ebrcs.config import Settings
from ebrcs.recognition.recogniser import Recogniser


@pytest.fixture(autouse=True)
def small_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphs from the eighth vector on, so that test-sized catalogues search through one."""
    monkeypatch.setattr(vectors_module, "PCA_TRAIN_MIN", 8)


def register(sessions, index: ProductIndex, settings: Settings, seed: int) -> uuid.UUID:
    colour = (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)
    uploads = [photo(colour, seed=seed), photo(colour, seed=seed + 1000)]
    with sessions() as db:
        return register_product(
            db, index, settings, fields={"name": f"product {seed}"}, uploads=uploads
        ).id


def take_off_sale(sessions, index: ProductIndex, settings: Settings, product_id) -> None:
    with sessions() as db:
        flows.deactivate(db=db, index=index, settings=settings, product_id=product_id)


def active_ids(sessions) -> set[int]:
    with sessions() as db:
        query = select(ProductImage.embedding_id).join(Product).where(Product.is_active.is_(True))
        return set(db.scalars(query))


def stored_vectors(sessions, product_id: uuid.UUID) -> np.ndarray:
    with sessions() as db:
        query = select(ProductImage.embedding).where(ProductImage.product_id == product_id)
        return np.stack([np.frombuffer(blob, dtype="<f4") for blob in db.scalars(query)])


class Searching:
    """A thread searching the index without pause until stopped; keeps any error."""

    def __init__(self, index: ProductIndex, queries: np.ndarray) -> None:
        self.errors: list[BaseException] = []
        self.searches = 0
        self._stop = threading.Event()

        def run() -> None:
            while not self._stop.is_set():
                try:
                    results = index.search(queries, 4)
                    assert all(results), "a search found nothing while products are on sale"
                    self.searches += 1
                except BaseException as error:  # reported by stop()
                    self.errors.append(error)
                    return

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        assert not self.errors, self.errors
        assert self.searches > 0


def test_changes_made_during_a_rebuild_are_in_the_index_swapped_in(
    sessions, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = open_index(sessions, settings)
    products = [register(sessions, index, settings, seed) for seed in range(6)]
    built_once = threading.Event()
    carry_on = threading.Event()
    build = rebuild.build_from_database

    def slow_build(**kwargs):  # the build reads the database, then waits for the changes
        built = build(**kwargs)
        built_once.set()
        assert carry_on.wait(10)
        return built

    monkeypatch.setattr(rebuild, "build_from_database", slow_build)
    searching = Searching(index, stored_vectors(sessions, products[0]))
    worker = rebuild.start_rebuild(sessions=sessions, index=index, kind="hnsw_pca")
    assert built_once.wait(10)
    newcomer = register(sessions, index, settings, seed=40)
    take_off_sale(sessions, index, settings, products[1])
    assert index.kind == "flat"  # the old index answers until the swap
    carry_on.set()
    worker.join(10)
    searching.stop()
    assert index.kind == "hnsw_pca"
    assert index.ids() == active_ids(sessions)
    found = {hits[0].product_id for hits in index.search(stored_vectors(sessions, newcomer), 1)}
    assert found == {newcomer}
    off_sale = stored_vectors(sessions, products[1])
    assert products[1] not in {
        hit.product_id for hits in index.search(off_sale, 20) for hit in hits
    }


def test_a_background_build_uses_its_openmp_team_at_low_priority_while_flat_answers(
    sessions, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = open_index(sessions, settings)
    products = [register(sessions, index, settings, seed) for seed in range(6)]
    seen: dict[str, int] = {}
    build = rebuild.build_from_database

    def observed_build(**kwargs):
        seen["threads"] = faiss.omp_get_max_threads()
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        (hits,) = index.search(stored_vectors(sessions, products[0])[:1], 1)  # still answering
        seen["found"] = hits[0].product_id == products[0]
        return build(**kwargs)

    monkeypatch.setattr(rebuild, "build_from_database", observed_build)
    worker = rebuild.start_rebuild(sessions=sessions, index=index, kind="hnsw_pca", threads=3)
    worker.join(30)
    assert index.kind == "hnsw_pca"
    assert seen["threads"] == 3 and seen["found"]
    assert seen["niceness"] >= rebuild.BUILD_NICENESS


def test_automatic_switch_under_concurrent_searches_and_registrations(
    sessions, settings: Settings
) -> None:
    index = open_index(sessions, settings)
    first = register(sessions, index, settings, seed=0)
    switch = IndexKindSwitch(
        sessions, index, ann_min_vectors=12, check_seconds=3600, max_hidden=0.5, threads=1
    )
    assert switch.due() is None  # 2 vectors: flat is right
    searching = Searching(index, stored_vectors(sessions, first))
    registering = threading.Thread(
        target=lambda: [register(sessions, index, settings, seed) for seed in range(1, 10)]
    )
    registering.start()
    while index.ntotal < 12:
        threading.Event().wait(0.01)
    result = switch.check()  # runs while registrations go on
    registering.join()
    searching.stop()
    assert result is not None and result.kind == index.kind == "hnsw_pca"
    assert index.ids() == active_ids(sessions) and index.ntotal == 20
    assert switch.due() is None


def test_a_graph_with_too_many_hidden_vectors_is_rebuilt_and_back_to_flat_when_small(
    sessions, settings: Settings
) -> None:
    index = open_index(sessions, settings)
    products = [register(sessions, index, settings, seed) for seed in range(8)]
    switch = IndexKindSwitch(
        sessions, index, ann_min_vectors=16, check_seconds=3600, max_hidden=0.5, threads=1
    )
    assert switch.check().kind == "hnsw_pca"
    for product in products[:3]:
        take_off_sale(sessions, index, settings, product)
    assert index.hidden == 6 and switch.due() == "hnsw_pca"  # 6 hidden > half of 10 findable
    switch.check()
    assert index.hidden == 0 and index.kind == "hnsw_pca"
    for product in products[3:5]:
        take_off_sale(sessions, index, settings, product)
    assert switch.check().kind == "flat"  # 6 vectors, below half the threshold
    assert index.ids() == active_ids(sessions)


def test_a_product_taken_off_sale_is_not_found_by_the_graph_at_once(
    sessions, settings: Settings
) -> None:
    graph = settings.model_copy(update={"index_kind": "hnsw_pca"})
    index = open_index(sessions, graph)
    products = [register(sessions, index, graph, seed) for seed in range(8)]
    assert index.kind == "hnsw_pca" and index._content.vectors._graph is not None
    queries = stored_vectors(sessions, products[2])
    assert index.search(queries, 1)[0][0].product_id == products[2]
    take_off_sale(sessions, index, graph, products[2])
    assert products[2] not in {hit.product_id for hits in index.search(queries, 16) for hit in hits}


def test_restart_from_a_snapshot_keeps_the_graph_without_building_it(
    sessions, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = open_index(sessions, settings)
    products = [register(sessions, index, settings, seed) for seed in range(8)]
    rebuild.rebuild(sessions=sessions, index=index, kind="hnsw_pca")
    take_off_sale(sessions, index, settings, products[5])
    write_snapshot(index, settings.index_dir / "products.faiss")

    def no_graph_building(self: HnswPcaVectors) -> None:
        raise AssertionError("the graph was built again")

    monkeypatch.setattr(HnswPcaVectors, "_make_graph", no_graph_building)
    reopened = open_index(sessions, settings)  # kind "auto" takes the snapshot's graph
    assert reopened.kind == "hnsw_pca"
    assert reopened.ids() == index.ids() == active_ids(sessions)
    queries = np.concatenate([stored_vectors(sessions, product) for product in products])
    assert [[h.embedding_id for h in hits] for hits in reopened.search(queries, 5)] == [
        [h.embedding_id for h in hits] for hits in index.search(queries, 5)
    ]


def test_a_rebuild_into_another_space_maps_stored_and_new_vectors_and_queries(
    sessions, settings: Settings
) -> None:
    index = open_index(sessions, settings)
    products = [register(sessions, index, settings, seed) for seed in range(4)]
    reverse = VectorSpace("reversed", lambda vectors: vectors[:, ::-1])
    rebuild.rebuild(sessions=sessions, index=index, space=reverse)
    newcomer = register(sessions, index, settings, seed=30)
    assert index.space.tag == "reversed"
    for product in [*products, newcomer]:
        (hits,) = index.search(stored_vectors(sessions, product)[:1], 1)
        assert hits[0].product_id == product
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_recogniser_results_match_exact_search_on_a_small_catalogue() -> None:
    rng = np.random.default_rng(3)
    # Crowded non-negative vectors: a shared direction plus small per-product differences.
    centres = np.abs(rng.normal(1.0, 0.25, (150, 64)))
    shots = np.repeat(centres, 3, axis=0) + rng.normal(0, 0.08, (450, 64))
    shots = np.maximum(shots, 0).astype(np.float32)
    shots /= np.linalg.norm(shots, axis=1, keepdims=True)
    owners = [uuid.UUID(int=i // 3 + 1) for i in range(450)]
    queries = np.maximum(centres[::5] + rng.normal(0, 0.08, (30, 64)), 0).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    recognitions = {}
    for kind in ("flat", "hnsw_pca"):
        index = ProductIndex(64, kind)
        index.add(np.arange(1, 451), shots, owners)
        recogniser = Recogniser(
            ColourEmbedder(), index, top_k=5, threshold=0.5, margin=0.01, prototype_weight=0.75
        )
        recognitions[kind] = recogniser.match(queries)
    assert index._content.vectors._graph is not None
    for exact, approximate in zip(recognitions["flat"], recognitions["hnsw_pca"], strict=True):
        assert [m.product_id for m in approximate.matches] == [m.product_id for m in exact.matches]
        assert [m.score for m in approximate.matches] == pytest.approx(
            [m.score for m in exact.matches], abs=1e-5
        )
        assert approximate.accepted == exact.accepted or (
            approximate.accepted.product_id == exact.accepted.product_id
        )


def test_an_automatic_index_grows_into_a_graph_and_shrinks_back_to_flat() -> None:
    assert wanted_kind(current="flat", vectors=999, ann_min_vectors=1000) == "flat"
    assert wanted_kind(current="flat", vectors=1000, ann_min_vectors=1000) == "hnsw_pca"
    assert wanted_kind(current="hnsw_pca", vectors=600, ann_min_vectors=1000) == "hnsw_pca"
    assert wanted_kind(current="hnsw_pca", vectors=499, ann_min_vectors=1000) == "flat"
