"""A user may hold only so many open checkout sessions at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ebrcs.app import create_app
from ebrcs.checkout.models import CheckoutSession
from ebrcs.config import Settings
from ebrcs.db.base import utcnow


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An app that lets each user hold three open sessions."""
    capped = settings.model_copy(update={"max_open_sessions_per_user": 3})
    with TestClient(create_app(capped)) as test_client:
        yield test_client


def _open(client: TestClient, account: Any) -> Any:
    return client.post("/api/sessions", headers=account.headers)


def test_sessions_past_the_cap_are_409_until_one_ends(client: TestClient, shopper: Any) -> None:
    opened = [_open(client, shopper) for _ in range(3)]
    refused = _open(client, shopper)
    client.delete(f"/api/sessions/{opened[0].json()['session_id']}", headers=shopper.headers)
    again = _open(client, shopper)

    assert [response.status_code for response in opened] == [201, 201, 201]
    assert (refused.status_code, refused.json()["code"]) == (409, "too_many_open_sessions")
    assert again.status_code == 201


def test_the_cap_is_per_user(client: TestClient, make_account: Any) -> None:
    alice, bob = make_account(), make_account()
    for _ in range(3):
        _open(client, alice)
    assert _open(client, bob).status_code == 201


def test_sessions_idle_past_their_ttl_do_not_count(client: TestClient, shopper: Any) -> None:
    for _ in range(3):
        _open(client, shopper)
    with client.app.state.runtime.sessions() as db:
        db.execute(update(CheckoutSession).values(last_active=utcnow() - timedelta(hours=2)))
        db.commit()
    assert _open(client, shopper).status_code == 201
