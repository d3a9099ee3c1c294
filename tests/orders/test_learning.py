"""Learning from corrections: a crop proved misread becomes a photo of the right product."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth.models import User
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.checkout import cart, crops
from ebrcs.checkout.models import CheckoutSession
from ebrcs.config import Settings
from ebrcs.orders import flows, learning

MakeProduct = OpenSession = Callable[..., uuid.UUID]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with learning from corrections switched on."""
    return settings.model_copy(update={"learn_from_corrections": True})


def _crop(seed: int) -> np.ndarray:
    """A small RGB crop with some structure, different per seed."""
    rng = np.random.default_rng(seed)
    crop = np.zeros((96, 80, 3), dtype=np.uint8)
    crop[:] = rng.integers(0, 255, size=3, dtype=np.uint8)
    crop[20:70, 15:60] = rng.integers(0, 255, size=(50, 45, 3), dtype=np.uint8)
    return crop


def _counted(
    app_sessions: sessionmaker[Session],
    settings: Settings,
    session_id: uuid.UUID,
    product_id: uuid.UUID,
    times: int,
) -> list[uuid.UUID]:
    """Recognition counts a product ``times`` times, keeping each crop; the event ids."""
    event_ids = []
    with app_sessions() as db:
        for n in range(times):
            event_id = uuid.uuid4()
            cart.record_add(
                db=db, session_id=session_id, product_id=product_id, score=0.7, event_id=event_id
            )
            crops.save_crop(
                settings=settings, session_id=session_id, event_id=event_id, crop_rgb=_crop(n)
            )
            event_ids.append(event_id)
    return event_ids


def _photos_of(app_sessions: sessionmaker[Session], product_id: uuid.UUID) -> int:
    with app_sessions() as db:
        query = select(func.count()).where(ProductImage.product_id == product_id)
        return db.scalar(query) or 0


def _validate_and_confirm(
    client: TestClient, account: Any, session_id: uuid.UUID, quantities: dict[uuid.UUID, int]
) -> None:
    items = [{"product_id": str(p), "quantity": n} for p, n in quantities.items()]
    put = client.put(
        f"/api/sessions/{session_id}/billing", headers=account.headers, json={"items": items}
    )
    assert put.status_code == 200, put.text
    confirm = client.post(f"/api/sessions/{session_id}/billing/confirm", headers=account.headers)
    assert confirm.status_code == 200, confirm.text


def test_misread_crop_becomes_a_photo_of_the_product_the_shopper_chose(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    apple, pear, milk = make_product("Apple"), make_product("Pear"), make_product("Milk")
    session_id = open_session(shopper)
    _counted(app_sessions, settings, session_id, apple, 1)
    _counted(app_sessions, settings, session_id, milk, 1)
    vectors_before = client.app.state.runtime.index.ntotal
    _validate_and_confirm(client, shopper, session_id, {pear: 1, milk: 1})
    assert _photos_of(app_sessions, pear) == 1
    assert _photos_of(app_sessions, apple) == _photos_of(app_sessions, milk) == 0
    assert client.app.state.runtime.index.ntotal == vectors_before + 1
    assert not crops.session_crops_dir(settings, session_id).exists()


def test_repeated_confirm_learns_nothing_more(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    apple, pear = make_product("Apple"), make_product("Pear")
    session_id = open_session(shopper)
    _counted(app_sessions, settings, session_id, apple, 2)
    _validate_and_confirm(client, shopper, session_id, {pear: 2})
    again = client.post(f"/api/sessions/{session_id}/billing/confirm", headers=shopper.headers)
    assert again.status_code == 200
    assert _photos_of(app_sessions, pear) == 2


@pytest.fixture
def confirmed(db: Session) -> Callable[..., Any]:
    """Count products by recognition, set the final cart, confirm; the order."""
    user = User(username=f"shopper_{uuid.uuid4().hex[:8]}", password_hash="x")
    db.add(user)
    db.commit()

    def _confirmed(counted: list[uuid.UUID], removed: list[uuid.UUID], paid: dict) -> Any:
        session = CheckoutSession(user_id=user.id, session_metadata={})
        db.add(session)
        db.commit()
        for product_id in counted:
            cart.record_add(db=db, session_id=session.id, product_id=product_id, score=0.7)
        for product_id in removed:
            cart.record_remove(db=db, session_id=session.id, product_id=product_id)
        cart.set_quantities(db=db, session_id=session.id, quantities=paid.items(), max_quantity=99)
        order, _ = flows.confirm(db=db, session=session)
        return order

    return _confirmed


@pytest.fixture
def products(db: Session) -> list[uuid.UUID]:
    """Four products on sale."""
    made = [Product(name=name, price=Decimal("1.00")) for name in ("A", "B", "C", "D")]
    db.add_all(made)
    db.commit()
    return [product.id for product in made]


def test_misreads_pair_a_product_removed_entirely_with_the_one_added(
    db: Session, confirmed: Callable[..., Any], products: list[uuid.UUID]
) -> None:
    a, b, c, _ = products
    order = confirmed(counted=[a, a, c], removed=[], paid={b: 2, c: 1})
    (misread,) = learning.misreads(db=db, order=order)
    assert (misread.counted_as, misread.actually, len(misread.event_ids)) == (a, b, 2)


def test_misreads_take_no_more_crops_than_items_added(
    db: Session, confirmed: Callable[..., Any], products: list[uuid.UUID]
) -> None:
    a, b, _, _ = products
    order = confirmed(counted=[a, a, a], removed=[], paid={b: 1})
    (misread,) = learning.misreads(db=db, order=order)
    assert len(misread.event_ids) == 1


def test_removed_counts_are_not_misreads(
    db: Session, confirmed: Callable[..., Any], products: list[uuid.UUID]
) -> None:
    a, b, _, _ = products
    order = confirmed(counted=[a], removed=[a], paid={b: 1})
    assert learning.misreads(db=db, order=order) == []


@pytest.mark.parametrize("case", ["product_only_reduced", "two_products_added", "nothing_added"])
def test_ambiguous_corrections_teach_nothing(
    db: Session, confirmed: Callable[..., Any], products: list[uuid.UUID], case: str
) -> None:
    a, b, c, d = products
    counted, paid = {
        "product_only_reduced": ([a, a, d], {a: 1, b: 1, d: 1}),
        "two_products_added": ([a, a], {b: 1, c: 1}),
        "nothing_added": ([a, d], {d: 1}),
    }[case]
    order = confirmed(counted=counted, removed=[], paid=paid)
    assert learning.misreads(db=db, order=order) == []


def test_crops_are_not_kept_while_learning_is_off(tmp_path: Any) -> None:
    off = Settings(data_dir=tmp_path, learn_from_corrections=False)
    kept = crops.save_crop(
        settings=off, session_id=uuid.uuid4(), event_id=uuid.uuid4(), crop_rgb=_crop(0)
    )
    assert kept is None
    assert not (tmp_path / crops.CROPS_FOLDER).exists()
