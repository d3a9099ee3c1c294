"""Every cart the API accepts can be confirmed: totals stay within what an order can hold."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from ebrcs.db.base import MAX_MONEY

MakeProduct = OpenSession = Callable[..., uuid.UUID]
TOP_PRICE = "1000000.00"  # the default EBRCS_MAX_PRODUCT_PRICE
MOST = 999  # the default EBRCS_MAX_CART_QUANTITY


def _bill(client: TestClient, account: Any, session_id: uuid.UUID, items: list[uuid.UUID]) -> Any:
    body = {"items": [{"product_id": str(item), "quantity": MOST} for item in items]}
    return client.put(f"/api/sessions/{session_id}/billing", json=body, headers=account.headers)


def _confirm(client: TestClient, account: Any, session_id: uuid.UUID) -> Any:
    return client.post(f"/api/sessions/{session_id}/billing/confirm", headers=account.headers)


def test_a_bill_past_the_largest_order_total_is_refused_and_the_largest_one_confirms(
    client: TestClient, shopper: Any, make_product: MakeProduct, open_session: OpenSession
) -> None:
    products = [make_product(f"Gold bar {n}", TOP_PRICE) for n in range(11)]
    session_id = open_session(shopper)

    too_much = _bill(client, shopper, session_id, products)
    largest = _bill(client, shopper, session_id, products[:10])
    confirmed = _confirm(client, shopper, session_id)

    assert (too_much.status_code, too_much.json()["code"]) == (422, "cart_total_too_large")
    assert largest.status_code == 200
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["total_amount"] == "9990000000.00"
    assert Decimal(confirmed.json()["total_amount"]) <= MAX_MONEY


def test_prices_raised_past_the_largest_order_total_make_confirm_409_not_500(
    client: TestClient,
    admin: Any,
    shopper: Any,
    make_product: MakeProduct,
    open_session: OpenSession,
) -> None:
    products = [make_product(f"Silver bar {n}", "1.00") for n in range(11)]
    session_id = open_session(shopper, dict.fromkeys(products, MOST))
    for product in products:
        raised = client.patch(
            f"/api/products/{product}", json={"price": TOP_PRICE}, headers=admin.headers
        )
        assert raised.status_code == 200

    response = _confirm(client, shopper, session_id)

    assert (response.status_code, response.json()["code"]) == (409, "cart_total_too_large")
