"""Login throttling: per username from an address and per address, in the database, alike for
all names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ebrcs.app import create_app
from ebrcs.auth import service
from ebrcs.auth.models import LoginThrottle
from ebrcs.config import Settings
from ebrcs.db.base import utcnow

PASSWORD = "correct horse"
BLOCK_SECONDS = 120


@pytest.fixture
def throttled_settings(settings: Settings) -> Settings:
    """Three failures per username, five per address, within ten minutes."""
    return settings.model_copy(
        update={
            "login_max_failures": 3,
            "login_max_failures_per_address": 5,
            "login_window_seconds": 600,
            "login_block_seconds": BLOCK_SECONDS,
        }
    )


def _client(settings: Settings, address: str = "203.0.113.7") -> TestClient:
    return TestClient(create_app(settings), client=(address, 40000))


@pytest.fixture
def shop(throttled_settings: Settings) -> Iterator[TestClient]:
    """One server process, with the account ``bob``."""
    with _client(throttled_settings) as client:
        with client.app.state.runtime.sessions() as db:
            service.create(db=db, username="bob", password=PASSWORD)
        yield client


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/auth/login", data={"username": username, "password": password})


def _fail(client: TestClient, username: str, times: int) -> list[int]:
    return [_login(client, username, "wrong password").status_code for _ in range(times)]


def test_repeated_failures_for_one_username_answer_429_with_retry_after(shop: TestClient) -> None:
    assert _fail(shop, "bob", 3) == [401, 401, 401]
    response = _login(shop, "bob", "wrong password")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= BLOCK_SECONDS
    assert response.json() == {
        "detail": "too many failed logins; try again later",
        "code": "login_throttled",
    }


def test_a_blocked_username_is_refused_even_with_the_right_password(shop: TestClient) -> None:
    _fail(shop, "bob", 3)
    assert _login(shop, "bob", PASSWORD).status_code == 429


def test_an_unknown_username_is_throttled_exactly_like_an_existing_one(
    shop: TestClient, throttled_settings: Settings
) -> None:
    existing = [_login(shop, "bob", "wrong password") for _ in range(4)]
    with _client(throttled_settings, address="198.51.100.9") as other_counter:
        unknown = [_login(other_counter, "ghost", "wrong password") for _ in range(4)]
    assert [(r.status_code, r.json()) for r in existing] == [
        (r.status_code, r.json()) for r in unknown
    ]
    assert existing[-1].status_code == 429


def test_usernames_are_counted_without_regard_to_case(shop: TestClient) -> None:
    _fail(shop, "bob", 1)
    _fail(shop, "BOB", 1)
    _fail(shop, "Bob", 1)
    assert _login(shop, "bob", PASSWORD).status_code == 429


def test_failures_from_one_address_across_usernames_answer_429(shop: TestClient) -> None:
    for name in ["ann", "ben", "cid", "dan", "eve"]:
        assert _fail(shop, name, 1) == [401]
    assert _login(shop, "bob", PASSWORD).status_code == 429


def test_another_address_can_still_log_in_to_an_account_blocked_elsewhere_by_address(
    shop: TestClient, throttled_settings: Settings
) -> None:
    for name in ["ann", "ben", "cid", "dan", "eve"]:
        _fail(shop, name, 1)
    with _client(throttled_settings, address="198.51.100.9") as other_counter:
        assert _login(other_counter, "bob", PASSWORD).status_code == 200


def test_failing_on_purpose_does_not_lock_the_owner_out_from_another_address(
    shop: TestClient, throttled_settings: Settings
) -> None:
    assert _fail(shop, "bob", 4)[-1] == 429
    with _client(throttled_settings, address="198.51.100.9") as owner:
        assert _login(owner, "bob", PASSWORD).status_code == 200
    assert _login(shop, "bob", PASSWORD).status_code == 429


def test_a_success_clears_the_username_count(shop: TestClient) -> None:
    assert _fail(shop, "bob", 2) == [401, 401]
    assert _login(shop, "bob", PASSWORD).status_code == 200
    assert _fail(shop, "bob", 2) == [401, 401]
    assert _login(shop, "bob", PASSWORD).status_code == 200


def test_a_block_is_shared_by_every_server_process(
    shop: TestClient, throttled_settings: Settings
) -> None:
    _fail(shop, "bob", 3)
    with _client(throttled_settings) as second_process:
        assert second_process.app.state.runtime is not shop.app.state.runtime
        assert _login(second_process, "bob", PASSWORD).status_code == 429


def test_the_block_ends_when_its_time_is_over(shop: TestClient) -> None:
    _fail(shop, "bob", 3)
    with shop.app.state.runtime.sessions() as db:
        db.execute(update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert _login(shop, "bob", PASSWORD).status_code == 200


def test_failures_older_than_the_window_are_forgotten(shop: TestClient) -> None:
    _fail(shop, "bob", 2)
    with shop.app.state.runtime.sessions() as db:
        db.execute(update(LoginThrottle).values(window_started_at=utcnow() - timedelta(minutes=11)))
        db.commit()
    assert _fail(shop, "bob", 2) == [401, 401]
    assert _login(shop, "bob", PASSWORD).status_code == 200
