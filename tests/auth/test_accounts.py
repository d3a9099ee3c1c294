"""Sign-up, login, the caller's own account and the admin user list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ebrcs.auth import service
from ebrcs.auth.models import Role, User


def _signup(client: TestClient, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        "/api/auth/signup", json={"username": username, "password": password, **extra}
    )


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/auth/login", data={"username": username, "password": password})


def _failing_fields(response: Any) -> list[list[str | int]]:
    body = response.json()
    assert body["code"] == "validation_error"
    return [error["loc"] for error in body["errors"]]


def _user(client: TestClient, username: str) -> User:
    with client.app.state.runtime.sessions() as db:
        user = service.get_by_username(db=db, username=username)
        assert user is not None
        return user


def test_signup_creates_a_shopper_account(client: TestClient) -> None:
    response = _signup(client, "alice", "correct horse", email="alice@example.com")
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "alice"
    assert body["role"] == "user"
    assert body["email"] == "alice@example.com"
    assert body["is_active"] is True
    assert body["last_login"] is None
    assert "password" not in body
    assert "password_hash" not in body


def test_signup_cannot_ask_for_the_admin_role(client: TestClient) -> None:
    response = _signup(client, "mallory", "correct horse", role="admin")
    assert response.json()["role"] == "user"
    assert _user(client, "mallory").role == Role.USER


@pytest.mark.parametrize(
    "username", ["ab", "x" * 51, "has space", "semi;colon", "émile", "", "a/b"]
)
def test_signup_rejects_a_username_outside_the_rules(client: TestClient, username: str) -> None:
    response = _signup(client, username, "correct horse")
    assert response.status_code == 422
    assert _failing_fields(response) == [["body", "username"]]


@pytest.mark.parametrize("username", ["abc", "x" * 50, "first.last", "under_score-dash9"])
def test_signup_accepts_usernames_at_the_edges_of_the_rules(
    client: TestClient, username: str
) -> None:
    assert _signup(client, username, "correct horse").status_code == 201


@pytest.mark.parametrize("password", ["", "seven77", "x" * 129])
def test_signup_rejects_a_password_outside_8_to_128_characters(
    client: TestClient, password: str
) -> None:
    response = _signup(client, "bob", password)
    assert response.status_code == 422
    assert _failing_fields(response) == [["body", "password"]]


@pytest.mark.parametrize("password", ["eight888", "x" * 128])
def test_signup_accepts_passwords_of_8_and_128_characters(
    client: TestClient, password: str
) -> None:
    assert _signup(client, "bob", password).status_code == 201
    assert _login(client, "bob", password).status_code == 200


def test_signup_rejects_a_malformed_email(client: TestClient) -> None:
    response = _signup(client, "bob", "correct horse", email="not-an-address")
    assert response.status_code == 422
    assert _failing_fields(response) == [["body", "email"]]


def test_signup_rejects_a_taken_username_with_409(client: TestClient) -> None:
    assert _signup(client, "bob", "correct horse").status_code == 201
    response = _signup(client, "bob", "another password")
    assert response.status_code == 409
    assert response.json()["detail"] == "username 'bob' is taken"


def test_login_returns_a_bearer_token_that_opens_me(client: TestClient) -> None:
    _signup(client, "bob", "correct horse")
    response = _login(client, "bob", "correct horse")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == client.app.state.runtime.settings.access_token_minutes * 60
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "bob"


def test_login_stamps_last_login(client: TestClient) -> None:
    _signup(client, "bob", "correct horse")
    assert _user(client, "bob").last_login is None
    _login(client, "bob", "correct horse")
    assert _user(client, "bob").last_login is not None


def test_a_password_differing_after_72_bytes_does_not_log_in(client: TestClient) -> None:
    # bcrypt would ignore everything after byte 72; Argon2 does not.
    password = "p" * 72 + "-the-rest"
    _signup(client, "bob", password)
    assert _login(client, "bob", "p" * 72 + "-other").status_code == 401
    assert _login(client, "bob", password).status_code == 200


def test_a_wrong_password_and_an_unknown_username_answer_alike(client: TestClient) -> None:
    _signup(client, "bob", "correct horse")
    wrong_password = _login(client, "bob", "wrong horse")
    unknown_user = _login(client, "nobody", "wrong horse")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()


def test_an_inactive_user_cannot_log_in(client: TestClient) -> None:
    _signup(client, "bob", "correct horse")
    with client.app.state.runtime.sessions() as db:
        user = service.require_by_username(db=db, username="bob")
        service.set_active(db=db, user=user, active=False)
    response = _login(client, "bob", "correct horse")
    assert response.status_code == 401
    assert response.json() == _login(client, "nobody", "correct horse").json()


def test_an_admin_lists_users_without_their_hashes(
    client: TestClient, admin: Any, make_account: Callable[..., Any]
) -> None:
    shopper = make_account(Role.USER)
    response = client.get("/api/admin/users", headers=admin.headers)
    assert response.status_code == 200
    listed = {user["username"]: user for user in response.json()}
    assert set(listed) == {admin.username, shopper.username}
    assert listed[admin.username]["role"] == "admin"
    assert all("password_hash" not in user for user in listed.values())


def test_a_demoted_admins_token_no_longer_opens_admin_routes(
    client: TestClient, admin: Any
) -> None:
    with client.app.state.runtime.sessions() as db:
        user = service.require_by_username(db=db, username=admin.username)
        service.set_role(db=db, user=user, role=Role.USER)
    assert client.get("/api/admin/users", headers=admin.headers).status_code == 403
