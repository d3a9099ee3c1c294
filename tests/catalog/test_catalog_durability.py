"""Concurrency and crash safety of the live catalogue."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from catalog_fixtures import ColourEmbedder, open_index, photo, photo_pixels, register_product
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import flows
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.config import Settings

WORKER = Path(__file__).with_name("registration_worker.py")
KILLS = 10


def test_readers_never_see_unknown_or_deactivated_products_while_writers_change_the_catalogue(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    index = open_index(sessions, settings)
    embedder = ColourEmbedder()
    queries = embedder.embed(
        [photo_pixels((c, 255 - c, c // 2), seed=c) for c in range(0, 256, 16)]
    )
    stop = threading.Event()
    searches: list[tuple[float, list[int]]] = []
    deactivated_at: dict[uuid.UUID, float] = {}
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                started = time.monotonic()
                results = index.search(queries, 10)
                searches.append((started, [hit.embedding_id for hits in results for hit in hits]))
        except BaseException as error:
            errors.append(error)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[uuid.UUID] = []
        try:
            for step in range(12):
                colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
                with sessions() as db:
                    product = register_product(
                        db,
                        index,
                        settings,
                        fields={"name": f"item {seed}-{step}"},
                        uploads=[photo(colour, seed=i) for i in range(3)],
                    )
                mine.append(product.id)
                if step % 3 == 2:
                    victim = mine.pop(rng.randrange(len(mine)))
                    with sessions() as db:
                        flows.deactivate(db=db, index=index, settings=settings, product_id=victim)
                    deactivated_at[victim] = time.monotonic()
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()

    assert not errors, errors
    with sessions() as db:
        rows = db.execute(select(ProductImage.embedding_id, ProductImage.product_id)).all()
    owner = dict(rows)
    seen = {embedding_id for _, ids in searches for embedding_id in ids}
    assert seen, "the readers found nothing at all"
    assert seen <= set(owner), "a search returned an id the database does not hold"
    for started, ids in searches:
        for embedding_id in ids:
            gone_at = deactivated_at.get(owner[embedding_id])
            assert gone_at is None or started < gone_at, "found a product after its deactivation"
    assert len(deactivated_at) == 12
    assert index.ids() == {e for e, p in owner.items() if p not in deactivated_at}


@pytest.mark.slow
def test_killed_registrations_leave_database_and_index_in_agreement(
    database_url: str, sessions: sessionmaker[Session], settings: Settings
) -> None:
    rng = random.Random(5)
    env = {**os.environ, "PYTHONPATH": str(WORKER.parent)}
    registered_before = 0
    for kill in range(KILLS):
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), database_url, str(settings.data_dir), str(kill)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline() == b"ready\n", "the worker failed to start"
        time.sleep(rng.uniform(0.0, 0.4))  # the random moment of the crash
        worker.send_signal(signal.SIGKILL)
        worker.wait()

        index = open_index(sessions, settings)
        with sessions() as db:
            active = set(
                db.scalars(select(ProductImage.embedding_id).join(Product).where(Product.is_active))
            )
            photo_counts = db.execute(
                select(Product.id, func.count(ProductImage.id))
                .outerjoin(ProductImage)
                .group_by(Product.id)
            ).all()
            paths = list(db.scalars(select(ProductImage.image_path)))
        assert index.ids() == active, f"after kill {kill}"
        assert {count for _, count in photo_counts} <= {2}, "a half-registered product is visible"
        assert all((settings.images_dir / path).is_file() for path in paths)
        registered_before, registered_now = len(photo_counts), registered_before
        assert registered_before >= registered_now
    assert registered_before > KILLS, "the workers registered too little to test anything"


def test_an_index_vector_matches_the_stored_one(sessions, settings: Settings) -> None:
    index = open_index(sessions, settings)
    with sessions() as db:
        product = register_product(
            db, index, settings, fields={"name": "Tomato"}, uploads=[photo((200, 30, 30))]
        )
        stored = np.frombuffer(product.images[0].embedding, dtype="<f4")
    (hits,) = index.search(stored[None, :], 1)
    assert hits[0].product_id == product.id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
