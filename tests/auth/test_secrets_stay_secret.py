"""No password and no password hash ever appears in a response body or a log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ebrcs.auth import service

PASSWORD = "s3cret-Passphrase!"


def test_passwords_and_hashes_appear_in_no_response_and_no_log(
    client: TestClient, admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = []
    signup = {"username": "carol", "password": PASSWORD, "email": "carol@example.com"}
    bodies.append(client.post("/api/auth/signup", json=signup).text)
    # A password typed into the username field must not end up in a log line either.
    for username, password in [("carol", "wrong-" + PASSWORD), (PASSWORD, PASSWORD)]:
        form = {"username": username, "password": password}
        bodies.append(client.post("/api/auth/login", data=form).text)
    login = client.post("/api/auth/login", data={"username": "carol", "password": PASSWORD})
    bodies.append(login.text)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    bodies.append(client.get("/api/auth/me", headers=headers).text)
    bodies.append(client.get("/api/admin/users", headers=admin.headers).text)
    with client.app.state.runtime.sessions() as db:
        password_hash = service.require_by_username(db=db, username="carol").password_hash

    assert "carol" in bodies[-1]  # the list really contains the account
    assert "failed login" in caplog.text  # the failures really were logged
    secrets = [PASSWORD, password_hash, password_hash.rsplit("$", 1)[-1], admin.password]
    for secret in secrets:
        assert all(secret not in body for body in bodies)
        assert secret not in caplog.text
