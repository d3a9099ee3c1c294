"""Every kind of bad bearer token is a 401; only a valid token of an active user passes."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from ebrcs.auth import service
from ebrcs.auth.models import User
from ebrcs.config import Settings
from ebrcs.db.base import utcnow

# The HS512 case signs with the test's short secret on purpose; PyJWT warns about its length.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _claims(account: Any, **overrides: Any) -> dict[str, Any]:
    now = utcnow()
    claims = {
        "sub": str(account.user_id),
        "role": account.role.value,
        "ver": 0,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _signed(settings: Settings, claims: dict[str, Any], algorithm: str = "HS256") -> str:
    return jwt.encode(claims, settings.resolved_jwt_secret(), algorithm=algorithm)


def _expired(settings: Settings, account: Any) -> str:
    past = utcnow() - timedelta(hours=2)
    exp = int((past + timedelta(hours=1)).timestamp())
    return _signed(settings, _claims(account, iat=int(past.timestamp()), exp=exp))


def _other_secret(settings: Settings, account: Any) -> str:
    return jwt.encode(_claims(account), "someone-elses-secret-" + "x" * 32, algorithm="HS256")


def _tampered_role(settings: Settings, account: Any) -> str:
    header, _payload, signature = _signed(settings, _claims(account)).split(".")
    return ".".join([header, _b64(_claims(account, role="admin")), signature])


def _alg_none(settings: Settings, account: Any) -> str:
    return ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(_claims(account)), ""])


def _other_algorithm(settings: Settings, account: Any) -> str:
    return _signed(settings, _claims(account), algorithm="HS512")


def _without(claim: str) -> Callable[[Settings, Any], str]:
    def _make(settings: Settings, account: Any) -> str:
        return _signed(settings, _claims(account, **{claim: None}))

    return _make


def _sub_not_a_uuid(settings: Settings, account: Any) -> str:
    return _signed(settings, _claims(account, sub="admin"))


def _unknown_role(settings: Settings, account: Any) -> str:
    return _signed(settings, _claims(account, role="superuser"))


def _unknown_user(settings: Settings, account: Any) -> str:
    return _signed(settings, _claims(account, sub=str(uuid.uuid4())))


BAD_TOKENS: dict[str, Callable[[Settings, Any], str]] = {
    "expired": _expired,
    "signed with another secret": _other_secret,
    "forged role in a signed token": _tampered_role,
    "alg none": _alg_none,
    "another algorithm than the pinned one": _other_algorithm,
    "without exp": _without("exp"),
    "without iat": _without("iat"),
    "without sub": _without("sub"),
    "without role": _without("role"),
    "without ver": _without("ver"),
    "ver that is not a number": lambda settings, account: _signed(
        settings, _claims(account, ver="0")
    ),
    "of an older token version": lambda settings, account: _signed(
        settings, _claims(account, ver=-1)
    ),
    "sub that is not a user id": _sub_not_a_uuid,
    "unknown role": _unknown_role,
    "of a user that never existed": _unknown_user,
    "malformed": lambda settings, account: "not-a-jwt",
    "three garbage segments": lambda settings, account: "a.b.c",
}


def _me(client: TestClient, token: str) -> Any:
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_token_opens_me(client: TestClient, settings: Settings, shopper: Any) -> None:
    assert _me(client, _signed(settings, _claims(shopper))).status_code == 200


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_401(
    client: TestClient, settings: Settings, shopper: Any, kind: str
) -> None:
    response = _me(client, BAD_TOKENS[kind](settings, shopper))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid or expired token", "code": "invalid_token"}


def test_a_missing_authorization_header_is_401(client: TestClient) -> None:
    assert client.get("/api/auth/me").status_code == 401


def test_a_token_in_another_scheme_is_401(client: TestClient, shopper: Any) -> None:
    token = shopper.headers["Authorization"].removeprefix("Bearer ")
    response = client.get("/api/auth/me", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401


def test_a_deleted_users_token_is_401(client: TestClient, shopper: Any) -> None:
    with client.app.state.runtime.sessions() as db:
        db.delete(db.get(User, shopper.user_id))
        db.commit()
    assert client.get("/api/auth/me", headers=shopper.headers).status_code == 401


def test_a_deactivated_users_token_is_401(client: TestClient, shopper: Any) -> None:
    assert client.get("/api/auth/me", headers=shopper.headers).status_code == 200
    with client.app.state.runtime.sessions() as db:
        user = service.require_by_username(db=db, username=shopper.username)
        service.set_active(db=db, user=user, active=False)
    assert client.get("/api/auth/me", headers=shopper.headers).status_code == 401


def test_a_password_reset_revokes_the_tokens_issued_before_it(
    client: TestClient, shopper: Any
) -> None:
    assert client.get("/api/auth/me", headers=shopper.headers).status_code == 200
    with client.app.state.runtime.sessions() as db:
        user = service.require_by_username(db=db, username=shopper.username)
        service.set_password(db=db, user=user, password="a brand new password")
    response = client.post(
        "/api/auth/login", data={"username": shopper.username, "password": "a brand new password"}
    )
    fresh = {"Authorization": f"Bearer {response.json()['access_token']}"}

    assert client.get("/api/auth/me", headers=shopper.headers).status_code == 401
    assert client.get("/api/auth/me", headers=fresh).status_code == 200
