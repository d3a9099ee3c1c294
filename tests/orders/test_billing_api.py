"""Bill validation over HTTP: reading, setting and adding to the cart of one's own session."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

MakeProduct = OpenSession = Callable[..., uuid.UUID]


def _billing(client: TestClient, account: Any, session_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/billing", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _quantities(body: dict[str, Any]) -> dict[str, int]:
    return {line["name"]: line["quantity"] for line in body["items"]}


def test_billing_shows_lines_and_totals_as_exact_decimal_strings(
    client: TestClient, shopper: Any, make_product: MakeProduct, open_session: OpenSession
) -> None:
    gum, cheese = make_product("Gum", "0.10"), make_product("Cheese", "3.33")
    session_id = open_session(shopper, {gum: 3, cheese: 1})
    body = _billing(client, shopper, session_id)
    lines = {line["name"]: line for line in body["items"]}
    assert lines["Gum"] == {
        "product_id": str(gum),
        "name": "Gum",
        "quantity": 3,
        "avg_score": 0.0,
        "unit_price": "0.10",
        "line_total": "0.30",
    }
    assert body["total_items"] == 4
    assert body["total_amount"] == "3.63"


def test_put_sets_the_cart_to_exactly_the_listed_quantities(
    client: TestClient, shopper: Any, make_product: MakeProduct, open_session: OpenSession
) -> None:
    milk, bread, eggs = make_product("Milk"), make_product("Bread"), make_product("Eggs")
    session_id = open_session(shopper, {milk: 1, bread: 2})
    response = client.put(
        f"/api/sessions/{session_id}/billing",
        headers=shopper.headers,
        json={
            "items": [
                {"product_id": str(milk), "quantity": 3},
                {"product_id": str(eggs), "quantity": 1},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert _quantities(response.json()) == {"Milk": 3, "Eggs": 1}
    assert _quantities(_billing(client, shopper, session_id)) == {"Milk": 3, "Eggs": 1}


def test_put_with_quantity_zero_removes_the_line(
    client: TestClient, shopper: Any, make_product: MakeProduct, open_session: OpenSession
) -> None:
    milk, bread = make_product("Milk"), make_product("Bread")
    session_id = open_session(shopper, {milk: 1, bread: 2})
    response = client.put(
        f"/api/sessions/{session_id}/billing",
        headers=shopper.headers,
        json={
            "items": [
                {"product_id": str(milk), "quantity": 0},
                {"product_id": str(bread), "quantity": 2},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert _quantities(response.json()) == {"Bread": 2}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("negative", "quantity must be between 0 and 999"),
        ("too_large", "quantity must be between 0 and 999"),
        ("unknown", "unknown products"),
        ("inactive", "no longer sold"),
        ("listed_twice", "listed twice"),
    ],
)
def test_rejected_put_is_422_and_changes_nothing(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    case: str,
    message: str,
) -> None:
    milk, bread = make_product("Milk"), make_product("Bread")
    retired = make_product("Retired", is_active=False)
    session_id = open_session(shopper, {milk: 1})
    bad_line = {
        "negative": {"product_id": str(bread), "quantity": -1},
        "too_large": {"product_id": str(bread), "quantity": 1000},
        "unknown": {"product_id": str(uuid.uuid4()), "quantity": 1},
        "inactive": {"product_id": str(retired), "quantity": 1},
        "listed_twice": {"product_id": str(milk), "quantity": 2},
    }[case]
    response = client.put(
        f"/api/sessions/{session_id}/billing",
        headers=shopper.headers,
        json={"items": [{"product_id": str(milk), "quantity": 5}, bad_line]},
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert _quantities(_billing(client, shopper, session_id)) == {"Milk": 1}


@pytest.mark.parametrize("quantity", [1.5, "2", True, None])
def test_put_quantity_must_be_a_json_integer(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    quantity: object,
) -> None:
    milk = make_product("Milk")
    session_id = open_session(shopper, {milk: 1})
    response = client.put(
        f"/api/sessions/{session_id}/billing",
        headers=shopper.headers,
        json={"items": [{"product_id": str(milk), "quantity": quantity}]},
    )
    assert response.status_code == 422
    assert _quantities(_billing(client, shopper, session_id)) == {"Milk": 1}


def test_adding_a_missed_product_adds_to_its_line(
    client: TestClient, shopper: Any, make_product: MakeProduct, open_session: OpenSession
) -> None:
    milk, bread = make_product("Milk"), make_product("Bread")
    session_id = open_session(shopper, {milk: 1})
    url = f"/api/sessions/{session_id}/billing/items"
    first = client.post(
        url, headers=shopper.headers, json={"product_id": str(bread), "quantity": 2}
    )
    again = client.post(url, headers=shopper.headers, json={"product_id": str(milk), "quantity": 1})
    assert first.status_code == again.status_code == 200
    assert _quantities(again.json()) == {"Milk": 2, "Bread": 2}


@pytest.mark.parametrize("quantity", [0, -3, 1000])
def test_adding_a_quantity_out_of_bounds_is_rejected(
    client: TestClient,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    quantity: int,
) -> None:
    milk = make_product("Milk")
    session_id = open_session(shopper)
    response = client.post(
        f"/api/sessions/{session_id}/billing/items",
        headers=shopper.headers,
        json={"product_id": str(milk), "quantity": quantity},
    )
    assert response.status_code == 422
    assert _billing(client, shopper, session_id)["items"] == []


def test_cart_of_a_confirmed_session_can_no_longer_change(
    client: TestClient, shopper: Any, make_product: MakeProduct, open_session: OpenSession
) -> None:
    milk = make_product("Milk")
    session_id = open_session(shopper, {milk: 1})
    confirm = client.post(f"/api/sessions/{session_id}/billing/confirm", headers=shopper.headers)
    assert confirm.status_code == 200, confirm.text
    line = {"product_id": str(milk), "quantity": 4}
    put = client.put(
        f"/api/sessions/{session_id}/billing", headers=shopper.headers, json={"items": [line]}
    )
    post = client.post(
        f"/api/sessions/{session_id}/billing/items", headers=shopper.headers, json=line
    )
    assert put.status_code == post.status_code == 409
    assert "completed" in put.json()["detail"]
    assert _quantities(_billing(client, shopper, session_id)) == {"Milk": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/billing"),
        ("PUT", "/billing"),
        ("POST", "/billing/items"),
        ("POST", "/billing/confirm"),
    ],
)
def test_another_users_billing_is_not_found(
    client: TestClient,
    shopper: Any,
    make_account: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
    method: str,
    path: str,
) -> None:
    milk = make_product("Milk")
    session_id = open_session(shopper, {milk: 1})
    stranger = make_account()
    body = {
        "PUT": {"items": [{"product_id": str(milk), "quantity": 9}]},
        "POST": {"product_id": str(milk), "quantity": 1},
    }.get(method)
    for target in (session_id, uuid.uuid4()):
        response = client.request(
            method, f"/api/sessions/{target}{path}", headers=stranger.headers, json=body
        )
        assert response.status_code == 404, response.text
    assert _quantities(_billing(client, shopper, session_id)) == {"Milk": 1}


def test_billing_needs_a_login(client: TestClient, shopper: Any, open_session: OpenSession) -> None:
    session_id = open_session(shopper)
    assert client.get(f"/api/sessions/{session_id}/billing").status_code == 401
