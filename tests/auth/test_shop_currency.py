"""The shop's currency: a setting, delivered to the browser with the caller's own account."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from ebrcs.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with a currency other than the default."""
    return settings.model_copy(update={"currency": "EUR"})


def test_me_carries_the_configured_currency(client: TestClient, shopper: Any) -> None:
    response = client.get("/api/auth/me", headers=shopper.headers)
    assert response.status_code == 200
    assert response.json()["currency"] == "EUR"
    assert response.json()["username"] == shopper.username


def test_the_user_list_does_not_repeat_the_currency(client: TestClient, admin: Any) -> None:
    users = client.get("/api/admin/users", headers=admin.headers).json()
    assert users and all("currency" not in user for user in users)


def test_currency_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBRCS_CURRENCY", "USD")
    assert Settings().currency == "USD"


@pytest.mark.parametrize("code", ["eur", "EURO", "E1R", "", "₩"])
def test_currency_must_be_three_capital_letters(code: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        Settings(currency=code)
