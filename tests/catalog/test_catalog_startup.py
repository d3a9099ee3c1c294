"""Start-up: the index comes from a snapshot plus the database, and always matches it."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
import pytest
from catalog_fixtures import ColourEmbedder, open_index, photo, register_product
from sqlalchemy import select

from ebrcs.catalog import flows, service
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.loading import EmbedderMismatch
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.catalog.snapshots import SnapshotWriter, write_snapshot
from ebrcs.config import Settings


class OtherEmbedder(ColourEmbedder):
    id = "another-embedder"


def register(sessions, index: ProductIndex, settings: Settings, seed: int) -> uuid.UUID:
    colour = (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)
    uploads = [photo(colour, seed=seed), photo(colour, seed=seed + 1000)]
    with sessions() as db:
        return register_product(
            db, index, settings, fields={"name": f"product {seed}"}, uploads=uploads
        ).id


def set_active(sessions, index: ProductIndex, settings: Settings, product_id, active: bool) -> None:
    with sessions() as db:
        flows.update_product(
            db=db,
            index=index,
            settings=settings,
            product_id=product_id,
            fields={"is_active": active},
        )


def active_ids(sessions) -> set[int]:
    with sessions() as db:
        query = select(ProductImage.embedding_id).join(Product).where(Product.is_active.is_(True))
        return set(db.scalars(query))


@pytest.fixture
def catalogue(sessions, settings: Settings) -> ProductIndex:
    """A live index with five registered products."""
    index = open_index(sessions, settings)
    for seed in range(5):
        register(sessions, index, settings, seed)
    return index


def test_restart_without_snapshot_rebuilds_from_the_database(
    catalogue: ProductIndex, sessions, settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ebrcs.catalog.loading"):
        reopened = open_index(sessions, settings)
    assert reopened.ids() == active_ids(sessions) == catalogue.ids()
    assert reopened.watermark == catalogue.watermark
    assert "no snapshot" in caplog.text


def test_restart_applies_changes_made_after_the_snapshot(
    catalogue: ProductIndex, sessions, settings, caplog: pytest.LogCaptureFixture
) -> None:
    with sessions() as db:
        first, second = db.scalars(select(Product.id).order_by(Product.created_at).limit(2))
    set_active(sessions, catalogue, settings, second, False)
    write_snapshot(catalogue, settings.index_dir / "products.faiss")
    set_active(sessions, catalogue, settings, first, False)
    set_active(sessions, catalogue, settings, second, True)
    newest = register(sessions, catalogue, settings, seed=77)
    with caplog.at_level(logging.INFO, logger="ebrcs.catalog.loading"):
        reopened = open_index(sessions, settings)
    assert "snapshot at watermark" in caplog.text
    assert reopened.ids() == active_ids(sessions) == catalogue.ids()
    products = {hits[0].product_id for hits in reopened.search(stored_vectors(sessions), 1)}
    assert first not in products
    assert {second, newest} <= products


def stored_vectors(sessions) -> np.ndarray:
    """Every vector the database holds, active or not."""
    with sessions() as db:
        return service.vectors_of(db.scalars(select(ProductImage)).all()).vectors


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "garbage header"])
def test_corrupt_snapshot_means_a_rebuild(
    damage: str, catalogue: ProductIndex, sessions, settings, caplog: pytest.LogCaptureFixture
) -> None:
    path: Path = settings.index_dir / "products.faiss"
    write_snapshot(catalogue, path)
    data = bytearray(path.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) - 40]
    else:
        data[:10] = b"not json!!"
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.INFO, logger="ebrcs.catalog.loading"):
        reopened = open_index(sessions, settings)
    assert "snapshot unusable" in caplog.text
    assert reopened.ids() == active_ids(sessions)


def test_snapshot_of_another_index_kind_is_stale(
    catalogue: ProductIndex, sessions, settings
) -> None:
    write_snapshot(catalogue, settings.index_dir / "products.faiss")
    hnsw = settings.model_copy(update={"index_kind": "hnsw"})
    reopened = open_index(sessions, hnsw)
    assert reopened.kind == "hnsw"
    assert reopened.ids() == active_ids(sessions)


def test_vectors_of_another_embedder_stop_the_start_with_advice(
    catalogue: ProductIndex, sessions, settings
) -> None:
    with pytest.raises(EmbedderMismatch, match="ebrcs catalog reembed"):
        open_index(sessions, settings, embedder=OtherEmbedder())


def test_snapshot_writer_writes_only_after_a_change(
    catalogue: ProductIndex, sessions, settings
) -> None:
    path = settings.index_dir / "products.faiss"
    writer = SnapshotWriter(catalogue, path, interval_seconds=3600)
    assert writer.write_if_changed() is False  # the writer starts from the current version
    register(sessions, catalogue, settings, seed=42)
    assert writer.write_if_changed() is True
    assert writer.write_if_changed() is False
    assert [p.name for p in path.parent.iterdir()] == ["products.faiss"]
