"""Every error answers one shape: an English ``detail`` and a stable ``code``."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from fastapi.testclient import TestClient

from ebrcs.errors import ErrorCode


def _assert_shape(body: dict[str, Any], code: str) -> None:
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["code"] == code
    assert code in {member.value for member in ErrorCode}


def test_a_domain_error_carries_its_specific_code(client: TestClient) -> None:
    response = client.post("/api/auth/login", data={"username": "nobody", "password": "wrong"})
    assert response.status_code == 401
    _assert_shape(response.json(), "invalid_credentials")


def test_a_validation_error_has_a_readable_detail_a_code_and_the_failing_fields(
    client: TestClient,
) -> None:
    response = client.post("/api/auth/signup", json={"password": "long enough password"})
    assert response.status_code == 422
    body = response.json()
    _assert_shape(body, "validation_error")
    assert "username" in body["detail"]
    assert body["errors"] == [
        {"loc": ["body", "username"], "msg": "Field required", "type": "missing"}
    ]


def test_a_domain_validation_error_lists_its_fields_like_a_request_one(
    client: TestClient, admin: Any
) -> None:
    response = client.patch(
        "/api/products/00000000-0000-0000-0000-000000000000",
        json={"colour": "red"},
        headers=admin.headers,
    )
    assert response.status_code == 422
    body = response.json()
    _assert_shape(body, "validation_error")
    assert body["errors"][0]["loc"] == ["colour"]


def test_an_unknown_api_path_is_404_in_the_same_shape(client: TestClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    _assert_shape(response.json(), "not_found")


def test_405_allows_every_method_some_route_at_the_path_accepts(client: TestClient) -> None:
    response = client.put("/api/products")
    assert response.status_code == 405
    _assert_shape(response.json(), "method_not_allowed")
    assert {method.strip() for method in response.headers["Allow"].split(",")} >= {"GET", "POST"}


def test_domain_errors_do_not_pull_in_fastapi() -> None:
    probe = "import sys, ebrcs.errors; sys.exit('fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0
