"""Unsure items on the bill: counted but not named, resolved with one tap or dismissed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog.models import ProductImage
from ebrcs.checkout import cart, crops
from ebrcs.checkout.models import EventKind, RecognitionEvent, UnresolvedItem, UnsureStatus
from ebrcs.checkout.unsure import Candidate
from ebrcs.config import Settings

MakeProduct = OpenSession = Callable[..., uuid.UUID]


def _crop() -> np.ndarray:
    crop = np.zeros((64, 48, 3), dtype=np.uint8)
    crop[:] = (200, 40, 40)
    crop[20:40, 10:30] = (20, 200, 60)
    return crop


def _counted_unsure(
    app_sessions: sessionmaker[Session],
    settings: Settings,
    session_id: uuid.UUID,
    candidates: list[tuple[uuid.UUID, float]],
) -> uuid.UUID:
    """What a frame with one unsure item writes: its crop, then the item; the item's id."""
    item_id = uuid.uuid4()
    path = crops.write_crop(crops.unsure_crop_path(settings, session_id, item_id), _crop())
    assert path is not None
    with app_sessions() as db:
        cart.record_frame(
            db=db,
            session_id=session_id,
            changes=[
                cart.CountedUnsure(
                    item_id,
                    [Candidate(product, score) for product, score in candidates],
                    path.relative_to(settings.data_dir),
                )
            ],
        )
    return item_id


def _bill(client: TestClient, account: Any, session_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/api/sessions/{session_id}/billing", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _resolve(
    client: TestClient, account: Any, session_id: uuid.UUID, item_id: uuid.UUID, product: Any
) -> Any:
    return client.post(
        f"/api/sessions/{session_id}/unsure/{item_id}/resolve",
        headers=account.headers,
        json={"product_id": str(product)},
    )


def _confirm(client: TestClient, account: Any, session_id: uuid.UUID) -> Any:
    return client.post(f"/api/sessions/{session_id}/billing/confirm", headers=account.headers)


def test_unsure_item_is_on_the_bill_with_named_priced_candidates_and_its_crop(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice, milk = make_product("Juice", "2.50"), make_product("Milk", "1.20")
    session_id = open_session(shopper)
    item_id = _counted_unsure(app_sessions, settings, session_id, [(juice, 0.84), (milk, 0.81)])

    bill = _bill(client, shopper, session_id)
    assert bill["items"] == [] and bill["total_items"] == 0
    (unsure,) = bill["unsure"]
    assert unsure["id"] == str(item_id) and unsure["best_score"] == pytest.approx(0.84)
    assert [(c["name"], c["unit_price"], c["score"]) for c in unsure["candidates"]] == [
        ("Juice", "2.50", pytest.approx(0.84)),
        ("Milk", "1.20", pytest.approx(0.81)),
    ]
    listed = client.get(f"/api/sessions/{session_id}/unsure", headers=shopper.headers).json()
    assert listed == bill["unsure"]
    crop = client.get(unsure["crop_url"], headers=shopper.headers)
    assert crop.status_code == 200
    assert crop.headers["content-type"] == "image/jpeg" and crop.content[:3] == b"\xff\xd8\xff"
    with app_sessions() as db:
        kinds = db.scalars(select(RecognitionEvent.kind)).all()
    assert kinds == [EventKind.UNRECOGNISED]  # the dashboard sees an item not named


def test_resolving_an_unsure_item_merges_it_into_the_products_line(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice, milk = make_product("Juice", "2.50"), make_product("Milk", "1.20")
    session_id = open_session(shopper, {juice: 1})
    item_id = _counted_unsure(app_sessions, settings, session_id, [(juice, 0.84), (milk, 0.81)])

    response = _resolve(client, shopper, session_id, item_id, juice)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(line["name"], line["quantity"]) for line in body["items"]] == [("Juice", 2)]
    assert body["unsure"] == [] and body["total_amount"] == "5.00"
    with app_sessions() as db:
        item = db.get_one(UnresolvedItem, item_id)
        assert (item.status, item.resolved_product_id) == (UnsureStatus.RESOLVED, juice)
    again = _resolve(client, shopper, session_id, item_id, juice)
    assert again.status_code == 409 and "resolved" in again.json()["detail"]
    assert again.json()["code"] == "unsure_item_closed"


def test_none_of_these_resolves_to_a_product_found_by_search(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice, bread = make_product("Juice", "2.50"), make_product("Bread", "3.00")
    session_id = open_session(shopper)
    item_id = _counted_unsure(app_sessions, settings, session_id, [(juice, 0.84)])

    body = _resolve(client, shopper, session_id, item_id, bread).json()
    assert [(line["name"], line["quantity"], line["avg_score"]) for line in body["items"]] == [
        ("Bread", 1, 0.0)
    ]


def test_resolving_to_a_product_no_longer_sold_changes_nothing(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice, gone = make_product("Juice"), make_product("Gone", is_active=False)
    session_id = open_session(shopper)
    item_id = _counted_unsure(app_sessions, settings, session_id, [(juice, 0.84)])

    assert _resolve(client, shopper, session_id, item_id, gone).status_code == 422
    bill = _bill(client, shopper, session_id)
    assert bill["items"] == [] and [u["id"] for u in bill["unsure"]] == [str(item_id)]


def test_dismissed_unsure_item_leaves_the_bill(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice = make_product("Juice")
    session_id = open_session(shopper, {juice: 1})
    item_id = _counted_unsure(app_sessions, settings, session_id, [(juice, 0.6)])

    response = client.post(
        f"/api/sessions/{session_id}/unsure/{item_id}/dismiss", headers=shopper.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["unsure"] == [] and response.json()["total_items"] == 1
    with app_sessions() as db:
        assert db.get_one(UnresolvedItem, item_id).status == UnsureStatus.DISMISSED


def test_confirm_is_refused_while_an_unsure_item_is_open(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice, milk = make_product("Juice", "2.50"), make_product("Milk", "1.20")
    session_id = open_session(shopper, {milk: 1})
    item_id = _counted_unsure(app_sessions, settings, session_id, [(juice, 0.84)])

    refused = _confirm(client, shopper, session_id)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("1 unsure item(s) on the bill")
    assert refused.json()["code"] == "unsure_items_open"
    assert _resolve(client, shopper, session_id, item_id, juice).status_code == 200
    confirmed = _confirm(client, shopper, session_id)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["total_amount"] == "3.70"


def test_another_users_unsure_item_is_not_found(
    client: TestClient,
    shopper: Any,
    make_account: Callable[..., Any],
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
) -> None:
    juice = make_product("Juice")
    other = make_account()
    theirs = open_session(other)
    their_item = _counted_unsure(app_sessions, settings, theirs, [(juice, 0.84)])
    mine = open_session(shopper)

    for session_id in (theirs, mine):
        base = f"/api/sessions/{session_id}/unsure/{their_item}"
        assert _resolve(client, shopper, session_id, their_item, juice).status_code == 404
        dismissed = client.post(f"{base}/dismiss", headers=shopper.headers)
        assert dismissed.status_code == 404
        assert client.get(f"{base}/crop", headers=shopper.headers).status_code == 404
    assert [u["id"] for u in _bill(client, other, theirs)["unsure"]] == [str(their_item)]


@pytest.mark.parametrize("learning_on", [True, False])
def test_a_resolved_crop_becomes_a_photo_of_the_chosen_product_when_learning_is_on(
    client: TestClient,
    shopper: Any,
    settings: Settings,
    make_product: MakeProduct,
    open_session: OpenSession,
    app_sessions: sessionmaker[Session],
    learning_on: bool,
) -> None:
    client.app.state.runtime.settings = settings.model_copy(
        update={"learn_from_corrections": learning_on}
    )
    juice, milk = make_product("Juice"), make_product("Milk")
    session_id = open_session(shopper)
    item_id = _counted_unsure(app_sessions, settings, session_id, [(milk, 0.8), (juice, 0.78)])

    assert _resolve(client, shopper, session_id, item_id, juice).status_code == 200
    assert _confirm(client, shopper, session_id).status_code == 200
    with app_sessions() as db:
        photos = db.scalar(select(func.count()).where(ProductImage.product_id == juice))
    assert photos == (1 if learning_on else 0)
