"""Sign-ups are limited per client address: each costs a password hash and an account row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ebrcs.app import create_app
from ebrcs.auth.models import LoginThrottle
from ebrcs.config import Settings
from ebrcs.db.base import utcnow


@pytest.fixture
def limited(settings: Settings) -> Settings:
    """Three sign-ups per address per hour."""
    return settings.model_copy(update={"signup_max_per_address": 3, "signup_window_seconds": 3600})


def _client(settings: Settings, address: str) -> TestClient:
    return TestClient(create_app(settings), client=(address, 40000))


@pytest.fixture
def shop(limited: Settings) -> Iterator[TestClient]:
    with _client(limited, "203.0.113.7") as client:
        yield client


def _signup(client: TestClient, username: str) -> int:
    body = {"username": username, "password": "correct horse"}
    return client.post("/api/auth/signup", json=body).status_code


def test_sign_ups_past_the_limit_from_one_address_answer_429(shop: TestClient) -> None:
    assert [_signup(shop, name) for name in ["ann", "ben", "cid"]] == [201, 201, 201]
    response = shop.post("/api/auth/signup", json={"username": "dan", "password": "long enough"})
    assert (response.status_code, response.json()["code"]) == (429, "signup_throttled")
    assert 0 < int(response.headers["Retry-After"]) <= 3600


def test_another_address_may_still_sign_up(shop: TestClient, limited: Settings) -> None:
    for name in ["ann", "ben", "cid", "dan"]:
        _signup(shop, name)
    with _client(limited, "198.51.100.9") as elsewhere:
        assert _signup(elsewhere, "eve") == 201


def test_the_count_starts_over_when_the_window_is_over(shop: TestClient) -> None:
    for name in ["ann", "ben", "cid"]:
        _signup(shop, name)
    with shop.app.state.runtime.sessions() as db:
        db.execute(update(LoginThrottle).values(window_started_at=utcnow() - timedelta(hours=2)))
        db.commit()
    assert _signup(shop, "dan") == 201


def test_failed_logins_do_not_purge_the_sign_up_count(shop: TestClient) -> None:
    for name in ["ann", "ben", "cid"]:
        _signup(shop, name)
    with shop.app.state.runtime.sessions() as db:
        db.execute(update(LoginThrottle).values(window_started_at=utcnow() - timedelta(minutes=30)))
        db.commit()
    shop.post("/api/auth/login", data={"username": "ann", "password": "wrong password"})
    assert _signup(shop, "dan") == 429
