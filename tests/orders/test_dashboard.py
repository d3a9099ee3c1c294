"""The admin dashboard: sales per day, best sellers and recognition health, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog.models import Product
from ebrcs.checkout import cart
from ebrcs.checkout.models import EventKind, RecognitionEvent
from ebrcs.orders.models import Order

MakeProduct = OpenSession = Callable[..., uuid.UUID]


def _confirm(
    client: TestClient,
    app_sessions: sessionmaker[Session],
    open_session: OpenSession,
    account: Any,
    items: dict[uuid.UUID, int],
    days_ago: int,
) -> None:
    session_id = open_session(account, items)
    response = client.post(f"/api/sessions/{session_id}/billing/confirm", headers=account.headers)
    order_id = uuid.UUID(response.json()["order_id"])
    with app_sessions() as db:
        order = db.get_one(Order, order_id)
        order.confirmed_at -= timedelta(days=days_ago)
        db.commit()


def _dashboard(client: TestClient, admin: Any) -> dict[str, Any]:
    response = client.get("/api/admin/dashboard", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_empty_shop_has_thirty_zero_days_and_no_recognition_figures(
    client: TestClient, admin: Any
) -> None:
    body = _dashboard(client, admin)
    today = datetime.now(UTC).date()
    assert [date.fromisoformat(day["day"]) for day in body["per_day"]] == [
        today - timedelta(days=29 - n) for n in range(30)
    ]
    assert {(day["orders"], day["amount"]) for day in body["per_day"]} == {(0, "0.00")}
    assert body["total_amount"] == "0.00"
    assert body["top_by_quantity"] == body["top_by_revenue"] == []
    assert body["average_recognition_score"] is None
    assert body["unrecognised_share"] is None
    assert body["active_sessions"] == 0


def test_sales_per_day_and_best_sellers_are_exact_decimals(
    client: TestClient,
    admin: Any,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    gum, cheese = make_product("Gum", "0.10"), make_product("Cheese", "3.33")
    _confirm(client, app_sessions, open_session, shopper, {gum: 3}, days_ago=0)
    _confirm(client, app_sessions, open_session, shopper, {gum: 7, cheese: 1}, days_ago=2)
    _confirm(client, app_sessions, open_session, shopper, {cheese: 50}, days_ago=45)
    with app_sessions() as db:
        db.get_one(Product, gum).price = Decimal("0.20")
        db.commit()
    _confirm(client, app_sessions, open_session, shopper, {gum: 1}, days_ago=2)

    body = _dashboard(client, admin)
    per_day = {day["day"]: (day["orders"], day["amount"]) for day in body["per_day"]}
    today = datetime.now(UTC).date()
    assert per_day[today.isoformat()] == (1, "0.30")
    assert per_day[(today - timedelta(days=2)).isoformat()] == (2, "4.23")
    assert sum(orders for orders, _ in per_day.values()) == body["total_orders"] == 3
    assert body["total_amount"] == "4.53"
    assert [(p["name"], p["quantity"], p["revenue"]) for p in body["top_by_quantity"]] == [
        ("Gum", 11, "1.20"),
        ("Cheese", 1, "3.33"),
    ]
    assert [p["name"] for p in body["top_by_revenue"]] == ["Cheese", "Gum"]


def test_recognition_health_counts_recent_events_only(
    client: TestClient,
    admin: Any,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    milk = make_product("Milk")
    session_id = open_session(shopper)
    open_session(shopper)
    with app_sessions() as db:
        cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
        cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.6)
        cart.record_remove(db=db, session_id=session_id, product_id=milk, score=0.8)
        cart.record_event(db=db, session_id=session_id, kind=EventKind.UNRECOGNISED, score=0.1)
        stale = cart.record_event(db=db, session_id=session_id, kind=EventKind.ADD, score=0.0)
        db.get_one(RecognitionEvent, stale.id).created_at -= timedelta(days=31)
        db.commit()
    body = _dashboard(client, admin)
    assert body["recognition_events"] == 4
    assert body["average_recognition_score"] == 0.75
    assert body["unrecognised_share"] == 1 / 3
    assert body["active_sessions"] == 2


def test_dashboard_period_can_be_chosen_within_bounds(client: TestClient, admin: Any) -> None:
    assert (
        len(client.get("/api/admin/dashboard?days=7", headers=admin.headers).json()["per_day"]) == 7
    )
    for days in (0, 367):
        response = client.get(f"/api/admin/dashboard?days={days}", headers=admin.headers)
        assert response.status_code == 422
