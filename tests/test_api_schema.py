"""The OpenAPI document tells the truth: a bounded Schemathesis run, as an admin and as a shopper,
on PostgreSQL, finds no server error and no response the document does not describe."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from PIL import Image

from ebrcs.auth.models import Role

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 10
# Transport options of the requests library that the test client does not take.
REQUESTS_ONLY = ("verify", "allow_redirects", "timeout", "cert", "stream", "proxies")


def _send(client: TestClient, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    for option in REQUESTS_ONLY:
        kwargs.pop(option, None)
    if cookies := kwargs.pop("cookies", None):
        headers = kwargs.setdefault("headers", {})
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    data = kwargs.pop("data", None)
    if isinstance(data, str | bytes):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    if files := kwargs.pop("files", None):
        # requests' multipart list: a (None, value) part is a text field, the rest are files.
        fields: dict[str, list[str]] = {}
        uploads = []
        for name, (filename, value) in files:
            if filename is None:
                text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                fields.setdefault(name, []).append(text)
            else:
                content = value if isinstance(value, bytes) else str(value).encode()
                uploads.append((name, (filename, content)))
        kwargs["data"] = fields
        kwargs["files"] = uploads or {"": ("", b"")}
    request = client.build_request(**kwargs)
    request.read()  # the checks read the request body back, multipart included
    return client.send(request)


def _exercise(
    client: TestClient,
    operation: Any,
    headers: dict[str, str],
    path_parameters: dict[str, str] | None = None,
) -> int:
    """Send a few generated requests to one operation, checking each answer; how many were sent."""
    sent = 0

    @given(case=operation.as_strategy(path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any) -> None:
        nonlocal sent
        response = _send(client, case, headers)
        sent += 1
        case.validate_response(response, checks=CHECKS)

    exercise()
    return sent


def _existing_objects(client: TestClient, admin: Any, caller: Any) -> dict[str, str]:
    """A product with a photo and one of the caller's sessions, by path parameter name."""
    photo = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 160, 60)).save(photo, "PNG")
    registered = client.post(
        "/api/products",
        data={"name": "Schema check lime", "price": "1.50"},
        files=[("images", ("lime.png", photo.getvalue(), "image/png"))],
        headers=admin.headers,
    ).json()
    product_id = registered["product_id"]
    detail = client.get(f"/api/products/{product_id}", headers=admin.headers).json()
    session = client.post("/api/sessions", headers=caller.headers).json()
    return {
        "product_id": product_id,
        "image_id": detail["images"][0]["id"],
        "session_id": session["session_id"],
    }


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.USER], ids=["admin", "shopper"])
def test_the_api_answers_as_its_document_says(
    client: TestClient, make_account: Any, role: Role
) -> None:
    caller = make_account(role)
    existing = _existing_objects(client, make_account(Role.ADMIN), caller)
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    requests: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        names = {parameter.name for parameter in operation.path_parameters}
        # Random ids find nothing (404); the real ones reach the rest of each route too.
        variants = [None]
        if names and names <= existing.keys():
            variants.append({name: existing[name] for name in names})
        try:
            for path_parameters in variants:
                requests[label] += _exercise(client, operation, caller.headers, path_parameters)
        except Exception as error:  # every operation runs; all failures are reported together
            failures[label] = str(error)[:3000]
    operations, sent = len(requests) + len(failures), sum(requests.values())
    print(f"\nSchemathesis as {role.value}: {operations} operations, {sent} requests")
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_the_document_states_the_limits_the_api_enforces(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas, paths = document["components"]["schemas"], document["paths"]
    photos = paths["/api/products"]["post"]["requestBody"]["content"]["multipart/form-data"]
    image = paths["/api/products/{product_id}/images/{image_id}"]["get"]["responses"]["200"]

    assert schemas["SignupRequest"]["properties"]["username"]["pattern"] == "^[A-Za-z0-9_.-]{3,50}$"
    assert schemas["QuantityIn"]["properties"]["quantity"]["maximum"] == 999
    assert photos["schema"]["properties"]["images"]["maxItems"] == 3
    assert "image/jpeg" in image["content"] and "application/json" not in image["content"]
    assert set(schemas["ErrorBody"]["required"]) == {"detail", "code"}
    for operations in paths.values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}
