"""Confirmation: the bill becomes exactly one paid order, however often and however fast."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog.models import Product
from ebrcs.checkout import cart
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.orders.models import Order, OrderItem

MakeProduct = OpenSession = Callable[..., uuid.UUID]
RACERS = 20


def _confirm(client: TestClient, account: Any, session_id: uuid.UUID) -> Any:
    return client.post(f"/api/sessions/{session_id}/billing/confirm", headers=account.headers)


def _order_count(app_sessions: sessionmaker[Session]) -> int:
    with app_sessions() as db:
        return db.scalar(select(func.count()).select_from(Order)) or 0


def test_confirm_writes_the_order_and_completes_the_session(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    gum, cheese = make_product("Gum", "0.10"), make_product("Cheese", "3.33")
    session_id = open_session(shopper, {gum: 3, cheese: 2})
    response = _confirm(client, shopper, session_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["order_id"] == body["id"]
    assert body["total_items"] == 5
    assert body["total_amount"] == "6.96"
    assert body["payment_status"] == "mock_paid"
    assert [(item["name"], item["quantity"], item["line_total"]) for item in body["items"]] == [
        ("Cheese", 2, "6.66"),
        ("Gum", 3, "0.30"),
    ]
    with app_sessions() as db:
        order = db.get_one(Order, uuid.UUID(body["order_id"]))
        assert order.total_amount == Decimal("6.96")
        assert order.user_id == shopper.user_id
        assert db.get_one(CheckoutSession, session_id).status == SessionStatus.COMPLETED


def test_order_keeps_the_price_it_was_sold_at(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    gum = make_product("Gum", "0.10")
    session_id = open_session(shopper, {gum: 3})
    order_id = _confirm(client, shopper, session_id).json()["order_id"]
    with app_sessions() as db:
        db.get_one(Product, gum).price = Decimal("9.99")
        db.commit()
        item = db.scalars(select(OrderItem).where(OrderItem.order_id == uuid.UUID(order_id))).one()
        assert item.unit_price == Decimal("0.10")
    again = client.get(f"/api/orders/{order_id}", headers=shopper.headers).json()
    assert again["total_amount"] == "0.30"
    assert again["items"][0]["unit_price"] == "0.10"


def test_order_items_snapshot_the_recognition_score(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    milk = make_product("Milk")
    session_id = open_session(shopper)
    with app_sessions() as db:
        cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
        cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.7)
    body = _confirm(client, shopper, session_id).json()
    assert body["items"][0]["avg_score"] == 0.8


def test_repeated_confirm_returns_the_same_order(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    session_id = open_session(shopper, {make_product("Milk"): 1})
    first = _confirm(client, shopper, session_id)
    second = _confirm(client, shopper, session_id)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert _order_count(app_sessions) == 1


def test_empty_cart_cannot_be_confirmed(
    client: TestClient,
    shopper: Any,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    session_id = open_session(shopper)
    response = _confirm(client, shopper, session_id)
    assert response.status_code == 409
    assert "empty" in response.json()["detail"]
    assert _order_count(app_sessions) == 0
    with app_sessions() as db:
        assert db.get_one(CheckoutSession, session_id).status == SessionStatus.ACTIVE


def test_expired_session_can_still_be_paid_for(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    session_id = open_session(shopper, {make_product("Milk", "2.50"): 2})
    with app_sessions() as db:
        db.get_one(CheckoutSession, session_id).status = SessionStatus.EXPIRED
        db.commit()
    response = _confirm(client, shopper, session_id)
    assert response.status_code == 200, response.text
    assert response.json()["total_amount"] == "5.00"
    with app_sessions() as db:
        assert db.get_one(CheckoutSession, session_id).status == SessionStatus.COMPLETED


def test_twenty_concurrent_confirms_make_exactly_one_order(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    session_id = open_session(shopper, {make_product("Gum", "0.10"): 3})
    start = threading.Barrier(RACERS)

    def race(_: int) -> tuple[int, str | None]:
        start.wait()
        response = _confirm(client, shopper, session_id)
        return response.status_code, response.json().get("order_id")

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        results = list(pool.map(race, range(RACERS)))
    with app_sessions() as db:
        orders = db.scalars(select(Order)).all()
    assert len(orders) == 1
    assert results == [(200, str(orders[0].id))] * RACERS
    assert orders[0].total_amount == Decimal("0.30")
