"""The recognition adapter: stored versioned, fitted in the background, swapped in everywhere."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from catalog_fixtures import (
    BINS,
    ColourEmbedder,
    open_index,
    photo,
    photo_pixels,
    register_product,
)
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from ebrcs.adaptation.adapter import AdapterMismatch
from ebrcs.adaptation.fit import AdapterConfig, FitDeadlineExceeded, fit_adapter
from ebrcs.app import create_app
from ebrcs.catalog import adapters, adapting, flows, service
from ebrcs.catalog.index import ProductIndex, VectorSpace
from ebrcs.catalog.models import AdapterStatus, Product, ProductImage, StoredAdapter
from ebrcs.catalog.rebuild import rebuild
from ebrcs.catalog.sync import CatalogFollower
from ebrcs.cli import app
from ebrcs.config import Settings
from ebrcs.runtime import Runtime

# A small fit: the same code path as the server's, in well under a second per fit.
SMALL = AdapterConfig(views_per_photo=2, dim=16)
WAIT_SECONDS = 30.0
FIT_WORKER = Path(__file__).with_name("adapter_fit_worker.py")


class OtherEmbedder(ColourEmbedder):
    id = "another-embedder"


class GatedEmbedder(ColourEmbedder):
    """The colour embedder, stopping on its ``pause_at``-th call until ``go`` is set."""

    def __init__(self, pause_at: int) -> None:
        self.calls = 0
        self.pause_at = pause_at
        self.paused = threading.Event()
        self.go = threading.Event()

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.pause_at:
            self.paused.set()
            self.go.wait(WAIT_SECONDS)
        return super().embed(images)


class FailingEmbedder(ColourEmbedder):
    """The colour embedder, failing on its ``fail_at``-th call (a fit that dies half-way)."""

    def __init__(self, fail_at: int) -> None:
        self.calls = 0
        self.fail_at = fail_at

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("embedding failed half-way through the fit")
        return super().embed(images)


def colour_of(seed: int) -> tuple[int, int, int]:
    """A distinct colour per seed."""
    return (seed * 67 % 256, seed * 131 % 256, seed * 29 % 256)


def register(sessions: sessionmaker[Session], index: ProductIndex, settings: Settings, seed: int):
    """Register a product of two photos of one colour; returns its id."""
    uploads = [photo(colour_of(seed), seed=seed), photo(colour_of(seed), seed=seed + 500)]
    with sessions() as db:
        fields = {"name": f"product {seed}"}
        return register_product(db, index, settings, fields=fields, uploads=uploads).id


def fit(sessions: sessionmaker[Session], settings: Settings, embedder=None) -> StoredAdapter:
    """Fit and store an adapter as the background job does."""
    return adapting.fit_and_store(
        sessions=sessions, settings=settings, embedder=embedder or ColourEmbedder(), config=SMALL
    )


def follower_of(sessions: sessionmaker[Session], index: ProductIndex) -> CatalogFollower:
    """A follower driven by the test (not started), as each process's sync runs it."""
    return CatalogFollower(
        sessions, index, listen_dsn=None, poll_seconds=1.0, reconcile_seconds=60.0
    )


def stored_vectors(sessions: sessionmaker[Session]) -> dict[int, tuple[uuid.UUID, np.ndarray]]:
    """Every active raw vector in the database: embedding id -> (product, vector)."""
    with sessions() as db:
        rows = db.execute(
            select(ProductImage.embedding_id, ProductImage.product_id, ProductImage.embedding)
            .join(Product)
            .where(Product.is_active.is_(True))
        )
        return {i: (p, np.frombuffer(v, "<f4")) for i, p, v in rows}


def assert_index_matches_database(sessions: sessionmaker[Session], index: ProductIndex) -> None:
    """Every active vector is findable, and is stored in the space queries are mapped into.

    Each raw vector, searched, finds its own stored vector at cosine 1 (a product registered
    after a fit may share that point with another, in an adapter of few dimensions).
    """
    stored = stored_vectors(sessions)
    assert index.ids() == set(stored)
    # Every stored vector is searched for: in an adapter of few dimensions many products
    # registered after a fit may share a point, more than any small k would reach.
    found = index.search(np.stack([vector for _, vector in stored.values()]), len(stored))
    for embedding_id, hits in zip(stored, found, strict=True):
        own = [hit.score for hit in hits if hit.embedding_id == embedding_id]
        assert own and own[0] > 1 - 1e-4, f"vector {embedding_id} is not stored as searched"


def wait_for(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` holds (the background threads work at their own pace)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


@pytest.fixture
def catalogue(sessions: sessionmaker[Session], settings: Settings) -> ProductIndex:
    """A live index with four registered products."""
    index = open_index(sessions, settings)
    for seed in range(4):
        register(sessions, index, settings, seed)
    return index


def test_a_fit_is_stored_as_the_version_in_force_and_the_index_switches_to_it(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    first = fit(sessions, settings)
    assert follower_of(sessions, catalogue).follow_adapter()
    assert catalogue.space.tag == f"adapter:{first.version}"
    assert catalogue.space.dim == first.output_dim
    assert_index_matches_database(sessions, catalogue)
    second = fit(sessions, settings)
    with sessions() as db:
        assert adapters.version_in_force(db=db, embedder_id=ColourEmbedder.id) == second.version
        assert db.get(StoredAdapter, first.version).status == AdapterStatus.RETIRED
    assert follower_of(sessions, catalogue).follow_adapter()
    assert catalogue.space.tag == f"adapter:{second.version}"
    assert not follower_of(sessions, catalogue).follow_adapter()  # nothing new


def test_a_registration_after_the_switch_is_adapted_and_found(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    fit(sessions, settings)
    follower_of(sessions, catalogue).follow_adapter()
    added = register(sessions, catalogue, settings, seed=40)
    (best, *_) = catalogue.search(
        ColourEmbedder().embed([photo_pixels(colour_of(40), seed=40)]), 1
    )[0]
    assert best.product_id == added
    assert_index_matches_database(sessions, catalogue)


def test_photos_added_to_a_product_after_the_switch_are_adapted_and_found(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    fit(sessions, settings)
    follower_of(sessions, catalogue).follow_adapter()
    with sessions() as db:
        product = db.scalars(select(Product)).first()
    with sessions() as db:
        flows.add_photos(
            db=db,
            index=catalogue,
            embedder=ColourEmbedder(),
            settings=settings,
            product_id=product.id,
            uploads=[photo((250, 250, 10), seed=9)],
        )
    query = ColourEmbedder().embed([photo_pixels((250, 250, 10), seed=9)])
    assert catalogue.search(query, 1)[0][0].product_id == product.id
    assert_index_matches_database(sessions, catalogue)


def test_a_fit_that_dies_half_way_leaves_the_old_adapter_in_force(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    first = fit(sessions, settings)
    follower = follower_of(sessions, catalogue)
    follower.follow_adapter()
    with pytest.raises(RuntimeError, match="half-way"):
        fit(sessions, settings, embedder=FailingEmbedder(fail_at=3))
    with sessions() as db:
        assert db.scalars(select(StoredAdapter.version)).all() == [first.version]
        assert adapters.version_in_force(db=db, embedder_id=ColourEmbedder.id) == first.version
    assert not follower.follow_adapter()
    assert catalogue.space.tag == f"adapter:{first.version}"
    assert_index_matches_database(sessions, catalogue)


@pytest.mark.slow
def test_a_fit_killed_with_its_process_leaves_the_old_adapter_and_frees_the_lock(
    database_url: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    catalogue: ProductIndex,
) -> None:
    first = fit(sessions, settings)
    env = {**os.environ, "PYTHONPATH": str(FIT_WORKER.parent)}
    worker = subprocess.Popen(
        [sys.executable, str(FIT_WORKER), database_url, str(settings.data_dir)],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert worker.stdout is not None
    try:
        assert worker.stdout.readline() == b"fitting\n", "the worker failed to start its fit"
        with adapting.fit_lock(settings=settings, sessions=sessions) as mine:
            assert not mine  # the worker holds it while it fits
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    def lock_is_free() -> bool:
        with adapting.fit_lock(settings=settings, sessions=sessions) as mine:
            return mine

    wait_for(lock_is_free)  # the lock dies with the process
    with sessions() as db:
        assert db.scalars(select(StoredAdapter.version)).all() == [first.version]
    follower = follower_of(sessions, catalogue)
    follower.follow_adapter()
    assert catalogue.space.tag == f"adapter:{first.version}"


def test_a_fit_past_its_time_bound_is_abandoned_and_stores_nothing(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    hurried = settings.model_copy(update={"adapter_fit_max_seconds": 1e-9})
    with pytest.raises(FitDeadlineExceeded):
        fit(sessions, hurried)
    with sessions() as db:
        assert adapters.version_in_force(db=db, embedder_id=ColourEmbedder.id) == 0


def test_a_product_registered_during_a_fit_is_found_after_the_swap(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    gated = GatedEmbedder(pause_at=3)
    fitted: list[StoredAdapter] = []
    fitting = threading.Thread(target=lambda: fitted.append(fit(sessions, settings, gated)))
    fitting.start()
    assert gated.paused.wait(WAIT_SECONDS)
    during = register(sessions, catalogue, settings, seed=50)  # while the fit is under way
    gated.go.set()
    fitting.join(WAIT_SECONDS)
    assert fitted and fitted[0].catalogue_products == 4  # the fit did not see it...
    assert follower_of(sessions, catalogue).follow_adapter()
    query = ColourEmbedder().embed([photo_pixels(colour_of(50), seed=50)])
    assert catalogue.search(query, 1)[0][0].product_id == during  # ...the index does
    assert_index_matches_database(sessions, catalogue)


def test_searches_and_registrations_run_on_through_swaps(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    """Each search sees one whole version; nothing registered meanwhile is lost."""
    known = stored_vectors(sessions).values()
    products = [product for product, _ in known]
    queries = np.stack([vector for _, vector in known])
    stop = threading.Event()
    problems: list[str] = []
    searched = [0]

    def search_forever() -> None:
        while not stop.is_set():
            found = [row[0].product_id for row in catalogue.search(queries, 1)]
            if found != products:
                problems.append(f"searched {products}, found {found}")
            searched[0] += 1

    registered: list[uuid.UUID] = []

    searched_colours = [colour_of(seed) for seed in range(len(set(products)))]  # the fixture's

    def apart(colour: tuple[int, int, int]) -> bool:
        """Two histogram bins from every searched product's colour on some channel: a product
        registered meanwhile that shares their bins would tie with one of them."""
        width = 256 // BINS
        return all(
            max(abs(a // width - b // width) for a, b in zip(colour, other, strict=True)) >= 2
            for other in searched_colours
        )

    def register_forever() -> None:
        seed = 100
        while not stop.is_set():
            if apart(colour_of(seed)):
                registered.append(register(sessions, catalogue, settings, seed))
            seed += 1

    workers = [threading.Thread(target=search_forever) for _ in range(2)]
    workers.append(threading.Thread(target=register_forever))
    for worker in workers:
        worker.start()
    try:
        follower = follower_of(sessions, catalogue)
        for _ in range(3):
            fit(sessions, settings)
            assert follower.follow_adapter()
    finally:
        stop.set()
        for worker in workers:
            worker.join(WAIT_SECONDS)
    assert problems == []
    assert searched[0] > 0 and registered
    assert_index_matches_database(sessions, catalogue)


def test_an_adapter_fitted_on_another_backbone_is_refused_with_a_clear_message(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    photos = {seed: [photo_pixels(colour_of(seed), seed=seed)] for seed in range(3)}
    foreign = fit_adapter(photos, OtherEmbedder(), config=SMALL)
    with sessions() as db:
        state = adapters.catalogue_state(db=db)
        with pytest.raises(
            AdapterMismatch, match=r"'another-embedder', not on 'test-colour-histogram'"
        ):
            adapters.save(
                db=db,
                adapter=foreign,
                embedder_id=ColourEmbedder.id,
                embedder_dim=ColourEmbedder.dim,
                fitted_on=state,
                fit_seconds=0.0,
            )
        db.rollback()
        # A row claiming this embedder but holding another's parameters is refused on load.
        row = adapters.save(
            db=db,
            adapter=foreign,
            embedder_id=OtherEmbedder.id,
            embedder_dim=OtherEmbedder.dim,
            fitted_on=state,
            fit_seconds=0.0,
        )
        row.embedder_id = ColourEmbedder.id
        db.commit()
        with pytest.raises(
            adapters.AdapterUnusable, match="fitted on vectors of 'another-embedder'"
        ):
            adapters.load(row, embedder_id=ColourEmbedder.id, embedder_dim=ColourEmbedder.dim)
    assert not follower_of(sessions, catalogue).follow_adapter()
    assert catalogue.space.tag == "raw"


def test_a_damaged_adapter_row_is_not_used(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    row = fit(sessions, settings)
    with sessions() as db:
        stored = db.get(StoredAdapter, row.version)
        stored.parameters = stored.parameters[:-4] + b"\0\0\0\0"
        db.commit()
    assert not follower_of(sessions, catalogue).follow_adapter()
    assert catalogue.space.tag == "raw"
    assert_index_matches_database(sessions, catalogue)


def test_retiring_the_adapter_switches_back_to_raw_vectors(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    fit(sessions, settings)
    follower = follower_of(sessions, catalogue)
    follower.follow_adapter()
    with sessions() as db:
        assert adapters.retire_all(db=db, embedder_id=ColourEmbedder.id) == 1
        db.commit()
    assert follower.follow_adapter()
    assert catalogue.space.tag == "raw"
    assert_index_matches_database(sessions, catalogue)


def test_a_refit_is_due_once_the_catalogue_changed_by_the_set_share(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    rules = settings.model_copy(update={"adapter_min_products": 4, "adapter_refit_share": 0.5})
    with sessions() as db:
        assert "no adapter yet" in adapting.refit_reason(
            db=db, settings=rules, embedder_id=ColourEmbedder.id
        )
    fit(sessions, settings)  # on 8 vectors: 4 more are half of them
    for seed in (60, 61):
        register(sessions, catalogue, settings, seed)
        with sessions() as db:
            reason = adapting.refit_reason(db=db, settings=rules, embedder_id=ColourEmbedder.id)
        assert (reason is not None) == (seed == 61)
    assert "4 vectors added or removed" in reason
    with sessions() as db:
        adapters.retire_all(db=db, embedder_id=ColourEmbedder.id)  # `ebrcs catalog adapt --off`
        db.commit()
        assert adapting.refit_reason(db=db, settings=rules, embedder_id=ColourEmbedder.id) is None


def test_one_process_fits_at_a_time(sessions: sessionmaker[Session], settings: Settings) -> None:
    with (
        adapting.fit_lock(settings=settings, sessions=sessions) as first,
        adapting.fit_lock(settings=settings, sessions=sessions) as second,
    ):
        assert (first, second) == (True, False)
    with adapting.fit_lock(settings=settings, sessions=sessions) as again:
        assert again


@pytest.fixture
def quick_sync(settings: Settings, colour_embedder: ColourEmbedder) -> Settings:
    """Settings of a server that follows the catalogue (and adapter) every 50 ms."""
    return settings.model_copy(update={"sync_poll_seconds": 0.05, "adapter_auto_refit": False})


@pytest.fixture
def two_servers(quick_sync: Settings) -> Iterator[tuple[Runtime, Runtime]]:
    """Two server runtimes on one database, as two processes would be."""
    first = Runtime.start(quick_sync)
    second = Runtime.start(quick_sync.model_copy(update={"data_dir": quick_sync.data_dir / "b"}))
    yield first, second
    first.close()
    second.close()


def test_every_server_switches_to_an_adapter_fitted_elsewhere(
    two_servers: tuple[Runtime, Runtime], quick_sync: Settings
) -> None:
    one, other = two_servers
    for seed in range(3):
        register(one.sessions, one.index, quick_sync, seed)
    row = fit(one.sessions, quick_sync)  # as `ebrcs catalog adapt` would, from a third process
    for server in two_servers:
        wait_for(lambda server=server: server.index.space.tag == f"adapter:{row.version}")
    added = register(other.sessions, other.index, quick_sync, seed=70)
    query = ColourEmbedder().embed([photo_pixels(colour_of(70), seed=70)])
    wait_for(lambda: one.index.search(query, 1)[0][0].product_id == added)
    for server in two_servers:
        assert_index_matches_database(server.sessions, server.index)


def test_a_restarted_server_opens_in_the_adapter_in_force_not_its_snapshots(
    quick_sync: Settings, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime.start(quick_sync)
    for seed in range(3):
        register(sessions, runtime.index, quick_sync, seed)
    first = fit(sessions, quick_sync)
    wait_for(lambda: runtime.index.space.tag == f"adapter:{first.version}")
    runtime.close()  # writes a snapshot in the first adapter's space
    second = fit(sessions, quick_sync)
    with caplog.at_level(logging.INFO, logger="ebrcs.catalog.loading"):
        restarted = Runtime.start(quick_sync)
    try:
        assert f"snapshot stale (made for flat/{ColourEmbedder.id}/adapter:{first.version})" in (
            caplog.text
        )
        assert restarted.index.space.tag == f"adapter:{second.version}"
        assert_index_matches_database(sessions, restarted.index)
    finally:
        restarted.close()


@pytest.fixture
def auto(quick_sync: Settings) -> Settings:
    """Settings of a server that checks every 50 ms whether to refit, from 3 products on."""
    return quick_sync.model_copy(
        update={
            "adapter_auto_refit": True,
            "adapter_check_seconds": 0.05,
            "adapter_min_products": 3,
        }
    )


def test_the_server_refits_by_itself_once_the_catalogue_is_big_enough(
    auto: Settings, sessions: sessionmaker[Session]
) -> None:
    runtime = Runtime.start(auto)
    try:
        for seed in range(3):
            register(sessions, runtime.index, auto, seed)
        wait_for(lambda: runtime.index.space.tag.startswith("adapter:"))
        assert_index_matches_database(sessions, runtime.index)
    finally:
        runtime.close()


def test_a_server_stopping_mid_refit_abandons_it_and_stores_nothing(
    auto: Settings, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    gated = GatedEmbedder(pause_at=1)  # the server's embedder: only its own refit embeds here
    monkeypatch.setattr("ebrcs.runtime.load_embedder", lambda _settings: gated)
    runtime = Runtime.start(auto)
    for seed in range(3):
        register(sessions, runtime.index, auto, seed)
    assert gated.paused.wait(WAIT_SECONDS)  # the refit is under way
    closing = threading.Thread(target=runtime.close)
    closing.start()
    wait_for(lambda: runtime.refitter is not None and runtime.refitter._stop.is_set())
    gated.go.set()
    closing.join(WAIT_SECONDS)
    assert not closing.is_alive()
    with sessions() as db:
        assert db.scalars(select(StoredAdapter)).all() == []


def test_adapt_command_fits_then_retires_the_adapter(
    cli: CliRunner, sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    fitted = cli.invoke(app, ["catalog", "adapt"])
    assert fitted.exit_code == 0, fitted.output
    assert "adapter 1 in force: fitted on 4 products (8 vectors)" in fitted.output
    not_due = cli.invoke(app, ["catalog", "adapt", "--if-due"])
    assert "nothing to do" in not_due.output
    off = cli.invoke(app, ["catalog", "adapt", "--off"])
    assert off.exit_code == 0 and "1 adapter(s) retired" in off.output
    with sessions() as db:
        assert adapters.version_in_force(db=db, embedder_id=ColourEmbedder.id) == 0
        assert service.highest_embedding_id(db=db) == 8


def test_health_names_the_adapter_the_index_searches_in(
    colour_embedder: ColourEmbedder, settings: Settings
) -> None:
    quick = settings.model_copy(update={"sync_poll_seconds": 0.05, "adapter_auto_refit": False})
    with TestClient(create_app(quick)) as client:
        runtime = client.app.state.runtime
        assert client.get("/api/health").json()["index"]["space"] == "raw"
        for seed in range(3):
            register(runtime.sessions, runtime.index, quick, seed)
        row = fit(runtime.sessions, quick)
        wait_for(lambda: runtime.index.space.tag == f"adapter:{row.version}")
        assert client.get("/api/health").json()["index"]["space"] == f"adapter:{row.version}"


def test_a_switch_never_holds_the_database_while_it_builds(
    sessions: sessionmaker[Session], settings: Settings, catalogue: ProductIndex
) -> None:
    """On SQLite every transaction holds the write lock: a build must not keep one open."""
    building, go = threading.Event(), threading.Event()

    def slow_identity(raw: np.ndarray) -> np.ndarray:
        building.set()
        go.wait(WAIT_SECONDS)
        return raw

    space = VectorSpace("adapter:99", slow_identity, ColourEmbedder.dim)
    switching = threading.Thread(
        target=lambda: rebuild(sessions=sessions, index=catalogue, space=space)
    )
    switching.start()
    try:
        assert building.wait(WAIT_SECONDS)
        registered: list[uuid.UUID] = []
        registering = threading.Thread(
            target=lambda: registered.append(register(sessions, catalogue, settings, seed=80))
        )
        registering.start()
        registering.join(WAIT_SECONDS / 2)
        assert registered, "the registration waited for the build"
    finally:
        go.set()
        switching.join(WAIT_SECONDS)
    assert catalogue.space.tag == "adapter:99"
    assert_index_matches_database(sessions, catalogue)
