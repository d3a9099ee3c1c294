"""A second process's index follows catalogue changes committed elsewhere."""

from __future__ import annotations

import uuid

import numpy as np
from catalog_fixtures import ColourEmbedder, photo, register_product
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import flows
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.sync import catch_up, reconcile
from ebrcs.config import Settings

RED, GREEN = (200, 30, 30), (30, 200, 30)


def _register(
    db: Session, index: ProductIndex, settings: Settings, colour: tuple[int, int, int]
) -> uuid.UUID:
    fields = {"name": f"Product {colour}", "price": "1.00"}
    return register_product(db, index, settings, fields=fields, uploads=[photo(colour)]).id


def _other_process_index() -> ProductIndex:
    embedder = ColourEmbedder()
    return ProductIndex(embedder.dim, embedder_id=embedder.id)


def test_catch_up_adds_exactly_the_rows_past_the_watermark(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    writer, follower = _other_process_index(), _other_process_index()
    with sessions() as db:
        red = _register(db, writer, settings, RED)
        assert catch_up(db=db, index=follower).added == 1
        green = _register(db, writer, settings, GREEN)
        assert catch_up(db=db, index=follower).added == 1
        assert catch_up(db=db, index=follower).added == 0
    assert follower.ids() == writer.ids()
    assert {hit.product_id for hit in follower.search(np.ones((1, 24), np.float32), 5)[0]} == {
        red,
        green,
    }


def test_reconcile_removes_deactivated_and_restores_reactivated_products(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    writer, follower = _other_process_index(), _other_process_index()
    with sessions() as db:
        red = _register(db, writer, settings, RED)
        catch_up(db=db, index=follower)
        flows.deactivate(db=db, index=writer, settings=settings, product_id=red)
        assert catch_up(db=db, index=follower).added == 0
        assert reconcile(db=db, index=follower, product_ids={red}).removed == 1
        assert follower.ntotal == 0
        flows.update_product(
            db=db, index=writer, settings=settings, product_id=red, fields={"is_active": True}
        )
        assert reconcile(db=db, index=follower).added == 1
    assert follower.ids() == writer.ids()
