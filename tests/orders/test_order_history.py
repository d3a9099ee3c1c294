"""Order history: each shopper sees their own orders; admins see and filter everyone's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.orders.models import Order

MakeProduct = OpenSession = Callable[..., uuid.UUID]


@pytest.fixture
def buy(
    client: TestClient, open_session: OpenSession, app_sessions: sessionmaker[Session]
) -> Callable[..., str]:
    """Confirm an order of ``{product_id: quantity}`` for an account, optionally backdated."""

    def _buy(
        account: Any, items: dict[uuid.UUID, int], confirmed_at: datetime | None = None
    ) -> str:
        session_id = open_session(account, items)
        response = client.post(
            f"/api/sessions/{session_id}/billing/confirm", headers=account.headers
        )
        assert response.status_code == 200, response.text
        order_id = response.json()["order_id"]
        if confirmed_at is not None:
            with app_sessions() as db:
                db.get_one(Order, uuid.UUID(order_id)).confirmed_at = confirmed_at
                db.commit()
        return order_id

    return _buy


def _days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_my_orders_are_newest_first_with_items_and_decimal_totals(
    client: TestClient, shopper: Any, make_product: MakeProduct, buy: Callable[..., str]
) -> None:
    gum, milk = make_product("Gum", "0.10"), make_product("Milk", "1.25")
    older = buy(shopper, {gum: 3}, _days_ago(2))
    newer = buy(shopper, {milk: 2, gum: 1}, _days_ago(1))
    response = client.get("/api/orders", headers=shopper.headers)
    assert response.status_code == 200
    page = response.json()
    assert [order["id"] for order in page["orders"]] == [newer, older]
    assert page["total"] == 2
    latest = page["orders"][0]
    assert latest["total_amount"] == "2.60"
    assert latest["total_items"] == 3
    assert [(item["name"], item["quantity"]) for item in latest["items"]] == [
        ("Gum", 1),
        ("Milk", 2),
    ]
    assert datetime.fromisoformat(latest["confirmed_at"]) < datetime.now(UTC)


def test_my_orders_are_paginated(
    client: TestClient, shopper: Any, make_product: MakeProduct, buy: Callable[..., str]
) -> None:
    milk = make_product("Milk")
    order_ids = [buy(shopper, {milk: 1}, _days_ago(days)) for days in (1, 2, 3)]
    first = client.get("/api/orders?limit=2", headers=shopper.headers).json()
    second = client.get("/api/orders?limit=2&offset=2", headers=shopper.headers).json()
    assert [order["id"] for order in first["orders"] + second["orders"]] == order_ids
    assert first["total"] == second["total"] == 3


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=ten"])
def test_page_bounds_are_enforced(client: TestClient, shopper: Any, query: str) -> None:
    assert client.get(f"/api/orders?{query}", headers=shopper.headers).status_code == 422


def test_others_orders_are_invisible_to_shoppers(
    client: TestClient,
    shopper: Any,
    make_account: Any,
    make_product: MakeProduct,
    buy: Callable[..., str],
) -> None:
    stranger = make_account()
    order_id = buy(shopper, {make_product("Milk"): 1})
    assert client.get(f"/api/orders/{order_id}", headers=stranger.headers).status_code == 404
    assert client.get(f"/api/orders/{uuid.uuid4()}", headers=stranger.headers).status_code == 404
    assert client.get("/api/orders", headers=stranger.headers).json()["orders"] == []
    mine = client.get(f"/api/orders/{order_id}", headers=shopper.headers)
    assert mine.status_code == 200 and mine.json()["id"] == order_id


def test_admin_reads_every_order(
    client: TestClient,
    shopper: Any,
    admin: Any,
    make_product: MakeProduct,
    buy: Callable[..., str],
) -> None:
    order_id = buy(shopper, {make_product("Milk"): 1})
    response = client.get(f"/api/orders/{order_id}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["user_id"] == str(shopper.user_id)


def test_admin_order_list_filters_by_user_and_date_range(
    client: TestClient,
    shopper: Any,
    admin: Any,
    make_account: Any,
    make_product: MakeProduct,
    buy: Callable[..., str],
) -> None:
    other = make_account()
    milk = make_product("Milk")
    recent = buy(shopper, {milk: 1}, _days_ago(1))
    old = buy(shopper, {milk: 2}, _days_ago(10))
    others = buy(other, {milk: 3}, _days_ago(1))

    def listed(**params: Any) -> list[str]:
        response = client.get("/api/admin/orders", headers=admin.headers, params=params)
        assert response.status_code == 200, response.text
        return [order["id"] for order in response.json()["orders"]]

    assert set(listed()) == {recent, old, others}
    assert listed(user_id=str(shopper.user_id)) == [recent, old]
    assert listed(username=other.username) == [others]
    week_ago = _days_ago(7).isoformat()
    assert set(listed(**{"from": week_ago})) == {recent, others}
    assert listed(**{"to": week_ago}) == [old]
    naive_week_ago = _days_ago(7).replace(tzinfo=None).isoformat()
    assert listed(username=shopper.username, **{"from": naive_week_ago}) == [recent]
    first = client.get("/api/admin/orders", headers=admin.headers).json()["orders"]
    assert {order["username"] for order in first} == {shopper.username, other.username}


def test_admin_routes_refuse_shoppers(client: TestClient, shopper: Any) -> None:
    for path in ("/api/admin/orders", "/api/admin/dashboard"):
        assert client.get(path, headers=shopper.headers).status_code == 403
        assert client.get(path).status_code == 401


def test_the_order_a_checkout_became_is_found_by_its_session(
    client: TestClient,
    shopper: Any,
    make_account: Callable[..., Any],
    make_product: MakeProduct,
    open_session: OpenSession,
) -> None:
    gum = make_product("Gum", "0.10")
    session_id = open_session(shopper, {gum: 2})
    other = open_session(shopper, {gum: 1})
    for paid in (session_id, other):
        client.post(f"/api/sessions/{paid}/billing/confirm", headers=shopper.headers)
    response = client.get(f"/api/orders?session_id={session_id}", headers=shopper.headers)
    [order] = response.json()["orders"]
    assert order["session_id"] == str(session_id)
    assert order["total_items"] == 2
    # Someone else's session finds nothing, as if it did not exist.
    stranger = make_account()
    response = client.get(f"/api/orders?session_id={session_id}", headers=stranger.headers)
    assert response.json()["orders"] == []
