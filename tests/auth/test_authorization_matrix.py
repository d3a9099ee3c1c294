"""The authorization matrix: every route of the app, checked for who may call it.

Each route's policy is read from its dependency tree, so routes added later are covered
without editing this file:

- ``require_admin`` anywhere in the tree (``AdminUser``): admin only. No token is a 401, a
  plain user is a 403.
- ``current_user`` anywhere in the tree (``CurrentUser``): any logged-in user. No token is a
  401; when the path names an owned object (``session_id``, ``order_id``, ``item_id``),
  another user's object is a 404 that looks exactly like the 404 of an id that does not
  exist, and the object is resolved by an ownership dependency (``OWNERSHIP_DEPENDENCIES``:
  ``OwnedSession``, ``ActiveOwnedSession``, ``OwnedUnsureItem``, ``VisibleOrder``...) that
  takes that path parameter, so no handler can forget the check.
- neither: the route must be listed in ``PUBLIC_API_ROUTES`` or be a web page outside
  ``/api`` (GET only; the shell and static files hold no data). Anything else fails.

WebSocket routes must all authenticate at the handshake (``authenticate_websocket``): without
a valid token they are closed with 1008 before a frame is processed, and another user's
session is closed exactly like a session that does not exist, resolved by an ownership
dependency too.

Every path parameter of a protected route needs a factory in ``PATH_PARAMETER_FACTORIES``; an
unknown name fails the test with a message saying so.

Order of checks, as FastAPI runs them: a route's dependencies (and so authentication) run
before its own path, query and body parameters are validated, so a missing token is a 401
whatever the body holds; the matrix sends no body and a wrong body to check this. Only a body
that is not even parseable JSON is answered 422 before authentication (FastAPI decodes it
before solving dependencies), which reveals nothing. Ownership dependencies also run before the
body is validated; the 404 requests still carry a minimal valid body built from the OpenAPI
schema (``REQUEST_EXAMPLES`` overrides it where a schema is not enough), so that a check made
only after validation would be caught too, and a body of the wrong shape must get the same 404.
"""

from __future__ import annotations

import enum
import io
import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastapi.routing
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from PIL import Image
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from ebrcs.app import create_app
from ebrcs.auth.deps import CurrentUser, current_user, require_admin
from ebrcs.auth.models import Role, User
from ebrcs.catalog.models import Product
from ebrcs.checkout import cart, crops
from ebrcs.checkout import service as checkout_service
from ebrcs.checkout.deps import (
    OwnedSession,
    active_owned_session,
    fresh_owned_session,
    owned_session,
    owned_unsure_item,
    owned_video_task,
)
from ebrcs.checkout.unsure import Candidate
from ebrcs.checkout.websocket import active_socket_session
from ebrcs.config import Settings
from ebrcs.orders.deps import visible_order
from ebrcs.orders.models import Order, OrderItem

if TYPE_CHECKING:
    from tests.conftest import Account

PUBLIC_API_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): "liveness probe for load balancers",
    ("POST", "/api/auth/login"): "how a token is obtained",
    ("POST", "/api/auth/signup"): "how an account is made",
}
"""Routes under /api that anyone may call, each with the reason. Add a route here only when
it must work without an account; everything else takes ``CurrentUser`` or ``AdminUser``."""

OWNED_PARAMETERS = frozenset({"session_id", "order_id", "item_id"})
"""Path parameters naming an object that belongs to one user: others get a 404."""

OWNERSHIP_DEPENDENCIES: frozenset[Callable[..., Any]] = frozenset(
    {
        owned_session,
        fresh_owned_session,
        active_owned_session,
        owned_unsure_item,
        owned_video_task,
        visible_order,
        active_socket_session,
    }
)
"""Dependencies that resolve an owned object named by their path parameters for the caller,
answering 404 (a socket: 4404) for anyone else's. Add one here when you add such a kind."""

WEB_PAGE_METHODS = frozenset({"GET", "HEAD"})
POLICY_VIOLATION = 1008
WEBSOCKET_REPLY_TIMEOUT_SECONDS = 30


class Policy(enum.Enum):
    """Who may call a route."""

    PUBLIC = "public"
    USER = "any logged-in user"
    ADMIN = "admin only"


@dataclass
class Objects:
    """Objects in the app's database that belong to user B (the owner), made on first use."""

    client: TestClient
    owner: Account

    def _add(self, row: Any) -> str:
        with self.client.app.state.runtime.sessions() as db:
            db.add(row)
            db.commit()
            return str(row.id)

    @cached_property
    def checkout_session_id(self) -> str:
        """An active checkout session of B."""
        with self.client.app.state.runtime.sessions() as db:
            owner = db.get(User, self.owner.user_id)
            return str(checkout_service.create(db=db, user=owner).id)

    @cached_property
    def product_id(self) -> str:
        """A product of the catalogue."""
        return self._add(Product(name="matrix test product", price=Decimal("1.25")))

    @cached_property
    def unsure_item_id(self) -> str:
        """An open unsure item, with its crop, in B's checkout session."""
        session_id, item_id = uuid.UUID(self.checkout_session_id), uuid.uuid4()
        settings = self.client.app.state.runtime.settings
        crop = np.full((32, 24, 3), 120, np.uint8)
        path = crops.write_crop(crops.unsure_crop_path(settings, session_id, item_id), crop)
        assert path is not None
        candidate = Candidate(uuid.UUID(self.product_id), 0.8)
        change = cart.CountedUnsure(item_id, [candidate], path.relative_to(settings.data_dir))
        with self.client.app.state.runtime.sessions() as db:
            cart.record_frame(db=db, session_id=session_id, changes=[change])
        return str(item_id)

    @cached_property
    def order_id(self) -> str:
        """A confirmed order of B."""
        item = OrderItem(
            product_id=uuid.UUID(self.product_id), quantity=1, unit_price=Decimal("1.25")
        )
        return self._add(
            Order(
                user_id=self.owner.user_id,
                total_items=1,
                total_amount=Decimal("1.25"),
                items=[item],
            )
        )


def _random_id(_objects: Objects) -> str:
    return str(uuid.uuid4())


PATH_PARAMETER_FACTORIES: dict[str, Callable[[Objects], str]] = {
    "session_id": lambda objects: objects.checkout_session_id,
    "order_id": lambda objects: objects.order_id,
    "item_id": lambda objects: objects.unsure_item_id,
    "product_id": lambda objects: objects.product_id,
    "user_id": lambda objects: str(objects.owner.user_id),
    "task_id": _random_id,
    "image_id": _random_id,
}
"""How to fill each path parameter of a protected route: with user B's object where one is
owned (see OWNED_PARAMETERS), else with any valid value. Add a name when you add a route."""

REQUEST_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {}
"""``(method, path) -> keyword arguments of client.request`` for routes whose minimal valid
request cannot be built from their OpenAPI schema."""


@dataclass(frozen=True)
class Endpoint:
    """One method of one HTTP route, with the policy its dependencies give it."""

    method: str
    route: Any  # the effective APIRoute (prefix and router dependencies included)
    policy: Policy

    @property
    def path(self) -> str:
        return self.route.path_format

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"{(\w+)(?::[^}]*)?}", self.route.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class RouteTable:
    """Every route of an app, classified, with the problems found while classifying."""

    endpoints: list[Endpoint] = field(default_factory=list)
    websockets: list[APIWebSocketRoute] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, policy: Policy) -> list[Endpoint]:
        return [endpoint for endpoint in self.endpoints if endpoint.policy is policy]


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_calls(sub)


def _policy_from_dependencies(dependant: Dependant) -> Policy | None:
    calls = set(_dependency_calls(dependant))
    if require_admin in calls:
        return Policy.ADMIN
    if current_user in calls:
        return Policy.USER
    return None


def _resolved_by_ownership(dependant: Dependant) -> set[str]:
    """The path parameters that an ownership dependency somewhere in the tree takes."""
    resolved: set[str] = set()
    for sub in dependant.dependencies:
        if sub.call in OWNERSHIP_DEPENDENCIES:
            resolved |= {param.name for param in sub.path_params}
        resolved |= _resolved_by_ownership(sub)
    return resolved


def ownership_problems(table: RouteTable) -> list[str]:
    """Routes of logged-in users naming an owned object that no ownership dependency resolves."""
    named = [
        (str(endpoint), endpoint.parameters, endpoint.route.dependant)
        for endpoint in table.of(Policy.USER)
    ]
    named += [
        (f"WebSocket {route.path}", list(route.param_convertors), route.dependant)
        for route in table.websockets
    ]
    return [
        f"{where}: {sorted(unresolved)} not resolved by an ownership dependency (OwnedSession, "
        "ActiveOwnedSession, OwnedUnsureItem, VisibleOrder...): take one instead of the id"
        for where, names, dependant in named
        if (unresolved := (OWNED_PARAMETERS & set(names)) - _resolved_by_ownership(dependant))
    ]


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _flat_routes(app: FastAPI) -> Iterator[tuple[BaseRoute, Any]]:
    """Each route of the app as ``(original, effective)``.

    Recent FastAPI keeps included routers lazily; the effective view carries the prefix and the
    router-level dependencies, which are what a request meets.
    """
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is None:
        yield from ((route, route) for route in app.routes)
        return
    for context in iter_route_contexts(app.routes):
        yield context.original_route, context


def classify(app: FastAPI) -> RouteTable:
    """Sort every route of the app by policy; routes nobody declared go to ``problems``."""
    table = RouteTable()
    for original, route in _flat_routes(app):
        if isinstance(original, APIRoute):
            policy = _policy_from_dependencies(route.dependant)
            for method in sorted(route.methods):
                endpoint_policy = policy or _public_policy(method, route.path_format)
                if endpoint_policy is None:
                    table.problems.append(
                        f"{method} {route.path_format} has no CurrentUser/AdminUser dependency "
                        "and is not public: add one, or list it in PUBLIC_API_ROUTES with why"
                    )
                    continue
                table.endpoints.append(Endpoint(method, route, endpoint_policy))
        elif isinstance(original, APIWebSocketRoute):
            table.websockets.append(route)
        elif isinstance(original, WebSocketRoute):
            table.problems.append(
                f"WebSocket {route.path} is a plain Starlette route: use @router.websocket"
            )
        elif isinstance(original, Mount):
            if _is_api(route.path):
                table.problems.append(
                    f"{route.path} is a mounted app under /api, which the matrix cannot see "
                    "into: include an APIRouter instead"
                )
        elif isinstance(original, Route):
            methods = route.methods or set()
            if _is_api(route.path) or not methods <= WEB_PAGE_METHODS:
                table.problems.append(
                    f"{sorted(methods)} {route.path} is a plain Starlette route outside the "
                    "web pages: use an APIRouter route with CurrentUser or AdminUser"
                )
        else:
            table.problems.append(f"unknown kind of route {original!r}")
    return table


def _public_policy(method: str, path: str) -> Policy | None:
    if (method, path) in PUBLIC_API_ROUTES:
        return Policy.PUBLIC
    if not _is_api(path) and method in WEB_PAGE_METHODS:
        return Policy.PUBLIC
    return None


def _unknown_parameters(names: list[str]) -> list[str]:
    return [name for name in names if name not in PATH_PARAMETER_FACTORIES]


def _fill_path(path: str, names: list[str], objects: Objects) -> str:
    """The path with each parameter replaced by its factory's value."""
    for name in names:
        path = path.replace("{" + name + "}", PATH_PARAMETER_FACTORIES[name](objects))
    return path


def _with_missing_objects(path: str, names: list[str], objects: Objects) -> str:
    """The filled path with every owned object swapped for an id that does not exist."""
    for name in names:
        if name in OWNED_PARAMETERS:
            path = path.replace(PATH_PARAMETER_FACTORIES[name](objects), str(uuid.uuid4()))
    return path


def _unknown_parameter_message(where: str, unknown: list[str]) -> str:
    return (
        f"{where}: no factory for path parameter(s) {unknown}; add one to "
        "PATH_PARAMETER_FACTORIES in tests/auth/test_authorization_matrix.py (and to "
        "OWNED_PARAMETERS if the object belongs to one user)"
    )


# Building a minimal valid request from the OpenAPI schema.


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class _File:
    """Marks a schema value that is an uploaded file."""


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A minimal value valid for a JSON schema: required fields only, smallest sizes."""
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [option for option in schema[combinator] if option.get("type") != "null"]
            return _example(options[0], components)
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        return {name: _example(properties.get(name, {}), components) for name in required}
    if "prefixItems" in schema:
        return [_example(item, components) for item in schema["prefixItems"]]
    if kind == "array":
        item = schema.get("items", {})
        count = max(schema.get("minItems", 0), 1 if _is_file(item) else 0)
        return [_example(item, components) for _ in range(count)]
    if kind == "string":
        if _is_file(schema):
            return _File()
        formats = {
            "uuid": str(uuid.uuid4()),
            "date-time": "2024-01-01T00:00:00Z",
            "date": "2024-01-01",
            "email": "someone@example.com",
        }
        if schema.get("format") in formats:
            return formats[schema["format"]]
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        if "minimum" in schema:
            return schema["minimum"]
        if "exclusiveMinimum" in schema:
            return schema["exclusiveMinimum"] + 1
        return 1
    if kind == "boolean":
        return False
    return None


def _is_file(schema: dict[str, Any]) -> bool:
    return schema.get("format") == "binary" or "contentMediaType" in schema


def _request_arguments(endpoint: Endpoint, openapi: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``client.request`` for a minimal valid request to the endpoint."""
    if (endpoint.method, endpoint.path) in REQUEST_EXAMPLES:
        return dict(REQUEST_EXAMPLES[(endpoint.method, endpoint.path)])
    operation = openapi.get("paths", {}).get(endpoint.path, {}).get(endpoint.method.lower())
    if operation is None:
        return {}
    components = openapi.get("components", {}).get("schemas", {})
    arguments: dict[str, Any] = {}
    query = {
        parameter["name"]: _example(parameter.get("schema", {}), components)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and parameter.get("required")
    }
    if query:
        arguments["params"] = query
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        arguments["json"] = _example(content["application/json"]["schema"], components)
    for form_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if form_type in content:
            fields = _example(content[form_type]["schema"], components)
            arguments.update(_form_arguments(fields))
    return arguments


def _form_arguments(fields: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        if values and all(isinstance(item, _File) for item in values):
            files += [(name, ("photo.png", _tiny_png(), "image/png")) for _ in values]
        else:
            data[name] = value
    arguments: dict[str, Any] = {"data": data}
    if files:
        arguments["files"] = files
    return arguments


# Fixtures.


@pytest.fixture
def offline_app(tmp_path: Path) -> FastAPI:
    """The app as built, never started: enough to read its routes."""
    return create_app(
        Settings(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'unused.db'}",
            jwt_secret="unused-" + uuid.uuid4().hex,
        )
    )


@pytest.fixture
def owner(make_account: Callable[..., Account]) -> Account:
    """User B, who owns the objects."""
    return make_account(Role.USER)


@pytest.fixture
def intruder(make_account: Callable[..., Account]) -> Account:
    """User A, who asks for B's objects."""
    return make_account(Role.USER)


@pytest.fixture
def objects(client: TestClient, owner: Account) -> Objects:
    return Objects(client=client, owner=owner)


# The route table itself.


def test_every_route_declares_who_may_call_it(offline_app: FastAPI) -> None:
    table = classify(offline_app)
    assert not table.problems, "\n".join(table.problems)


def test_every_protected_route_has_a_factory_for_each_path_parameter(
    offline_app: FastAPI,
) -> None:
    table = classify(offline_app)
    named = [
        (str(endpoint), endpoint.parameters)
        for endpoint in table.endpoints
        if endpoint.policy is not Policy.PUBLIC
    ]
    named += [
        (f"WebSocket {route.path}", list(route.param_convertors)) for route in table.websockets
    ]
    problems = [
        _unknown_parameter_message(where, unknown)
        for where, names in named
        if (unknown := _unknown_parameters(names))
    ]
    assert not problems, "\n".join(problems)


def test_every_openapi_operation_is_in_the_matrix(offline_app: FastAPI) -> None:
    walked = {(endpoint.method, endpoint.path) for endpoint in classify(offline_app).endpoints}
    operations = {
        (method.upper(), path)
        for path, item in offline_app.openapi()["paths"].items()
        for method in item
    }
    assert operations - walked == set()


def test_public_allowlist_names_only_existing_routes(offline_app: FastAPI) -> None:
    existing = {
        (method, route.path_format)
        for original, route in _flat_routes(offline_app)
        if isinstance(original, APIRoute)
        for method in route.methods
    }
    assert set(PUBLIC_API_ROUTES) - existing == set()


def test_policies_are_read_from_the_dependency_tree(offline_app: FastAPI) -> None:
    policies = {str(endpoint): endpoint.policy for endpoint in classify(offline_app).endpoints}
    assert policies["GET /api/auth/me"] is Policy.USER
    assert policies["GET /api/admin/users"] is Policy.ADMIN
    assert policies["POST /api/auth/login"] is Policy.PUBLIC


def test_a_route_without_an_auth_dependency_fails_the_matrix(offline_app: FastAPI) -> None:
    @offline_app.get("/api/forgotten/{session_id}")
    def forgotten(session_id: str) -> dict[str, str]:
        return {"session_id": session_id}

    problems = classify(offline_app).problems
    assert any("GET /api/forgotten/{session_id} has no CurrentUser" in p for p in problems)


def test_every_owned_object_in_a_path_is_resolved_by_an_ownership_dependency(
    offline_app: FastAPI,
) -> None:
    table = classify(offline_app)
    assert table.websockets and any(OWNED_PARAMETERS & set(e.parameters) for e in table.endpoints)
    problems = ownership_problems(table)
    assert not problems, "\n".join(problems)


def test_a_route_checking_ownership_in_its_handler_fails_the_matrix(offline_app: FastAPI) -> None:
    @offline_app.get("/api/by-hand/{session_id}")
    def by_hand(session_id: uuid.UUID, user: CurrentUser) -> dict[str, str]:
        return {"session_id": str(session_id), "user": str(user.id)}

    @offline_app.get("/api/by-dependency/{session_id}")
    def by_dependency(session: OwnedSession) -> dict[str, str]:
        return {"session_id": str(session.id)}

    problems = ownership_problems(classify(offline_app))
    assert [problem.split(":")[0] for problem in problems] == ["GET /api/by-hand/{session_id}"]


def test_a_path_parameter_without_a_factory_fails_the_matrix(offline_app: FastAPI) -> None:
    @offline_app.get("/api/shelves/{shelf_id}")
    def shelf(shelf_id: str, _user: CurrentUser) -> dict[str, str]:
        return {"shelf_id": shelf_id}

    endpoint = next(e for e in classify(offline_app).endpoints if "shelf_id" in e.path)
    assert _unknown_parameters(endpoint.parameters) == ["shelf_id"]


# The matrix against a running app, on each database.

WRONG_BODIES: tuple[dict[str, Any], ...] = ({}, {"json": {"unexpected": True}})
"""No body, and a body of the wrong shape: either way authentication must answer first."""


def _status_failures(
    client: TestClient,
    endpoints: list[Endpoint],
    objects: Objects,
    headers: dict[str, str],
    expected: int,
) -> list[str]:
    failures = []
    for endpoint in endpoints:
        if unknown := _unknown_parameters(endpoint.parameters):
            failures.append(_unknown_parameter_message(str(endpoint), unknown))
            continue
        path = _fill_path(endpoint.path, endpoint.parameters, objects)
        for body in WRONG_BODIES:
            response = client.request(endpoint.method, path, headers=headers, **body)
            if response.status_code != expected:
                failures.append(
                    f"{endpoint} with {headers or 'no headers'} and {body or 'no body'}: "
                    f"{response.status_code} {response.text[:200]}"
                )
    return failures


def _ownership_failures(client: TestClient, objects: Objects, intruder: Account) -> list[str]:
    """Problems found asking, as user A, for user B's objects on every user-level route."""
    openapi = client.app.openapi()
    failures = []
    # Control: B can read their own objects somewhere, so the 404s below are not just bad ids.
    owned_in_paths: set[str] = set()
    readable_by_owner: set[str] = set()
    for endpoint in classify(client.app).of(Policy.USER):
        owned = OWNED_PARAMETERS & set(endpoint.parameters)
        if not owned:
            continue
        owned_in_paths |= owned
        if unknown := _unknown_parameters(endpoint.parameters):
            failures.append(_unknown_parameter_message(str(endpoint), unknown))
            continue
        path = _fill_path(endpoint.path, endpoint.parameters, objects)
        missing_path = _with_missing_objects(path, endpoint.parameters, objects)
        arguments = _request_arguments(endpoint, openapi)
        foreign = client.request(endpoint.method, path, headers=intruder.headers, **arguments)
        missing = client.request(
            endpoint.method, missing_path, headers=intruder.headers, **arguments
        )
        if endpoint.method == "GET":
            response = client.request("GET", path, headers=objects.owner.headers, **arguments)
            if response.is_success:
                readable_by_owner |= owned
        if foreign.status_code != 404:
            hint = (
                " (the request failed validation before the ownership check: add an entry "
                "to REQUEST_EXAMPLES)"
                if foreign.status_code == 422
                else ""
            )
            failures.append(f"{endpoint}: {foreign.status_code} {foreign.text[:200]}{hint}")
        elif (missing.status_code, missing.text) != (foreign.status_code, foreign.text):
            failures.append(
                f"{endpoint}: another user's object answers {foreign.text} but a missing one "
                f"{missing.status_code} {missing.text}; they must not differ"
            )
        query = {"params": arguments["params"]} if "params" in arguments else {}
        wrong_body = client.request(
            endpoint.method, path, headers=intruder.headers, json={"unexpected": True}, **query
        )
        if (wrong_body.status_code, wrong_body.text) != (foreign.status_code, foreign.text):
            failures.append(
                f"{endpoint}: another user's object with a body of the wrong shape answers "
                f"{wrong_body.status_code} {wrong_body.text[:200]}: ownership is not resolved "
                "before validation (take an ownership dependency)"
            )
    if unread := owned_in_paths - readable_by_owner:
        failures.append(f"no GET route let the owner read their own {sorted(unread)}")
    return failures


def test_every_protected_route_answers_401_without_a_token(
    client: TestClient, objects: Objects
) -> None:
    table = classify(client.app)
    protected = table.of(Policy.USER) + table.of(Policy.ADMIN)
    failures = _status_failures(client, protected, objects, {}, 401)
    assert not failures, "\n".join(failures)


def test_every_protected_route_answers_401_to_an_invalid_token(
    client: TestClient, objects: Objects
) -> None:
    table = classify(client.app)
    protected = table.of(Policy.USER) + table.of(Policy.ADMIN)
    headers = {"Authorization": "Bearer not-a-token"}
    failures = _status_failures(client, protected, objects, headers, 401)
    assert not failures, "\n".join(failures)


def test_a_plain_user_gets_403_on_every_admin_route(
    client: TestClient, objects: Objects, intruder: Account
) -> None:
    admin_routes = classify(client.app).of(Policy.ADMIN)
    failures = _status_failures(client, admin_routes, objects, intruder.headers, 403)
    assert not failures, "\n".join(failures)


def test_another_users_objects_answer_404_like_missing_ones(
    client: TestClient, objects: Objects, intruder: Account
) -> None:
    failures = _ownership_failures(client, objects, intruder)
    assert not failures, "\n".join(failures)


def test_the_matrix_catches_a_route_that_leaks_another_users_session(
    client: TestClient, objects: Objects, intruder: Account
) -> None:
    @client.app.get("/api/leaky/{session_id}")
    def leaky(session_id: uuid.UUID, _user: CurrentUser) -> dict[str, str]:
        return {"session_id": str(session_id)}

    failures = _ownership_failures(client, objects, intruder)
    assert any(failure.startswith("GET /api/leaky/{session_id}: 200") for failure in failures)


# WebSocket routes.


def _first_reply(websocket: WebSocketTestSession) -> dict[str, Any]:
    """The first message the server sends, or pytest.fail if it neither answers nor closes."""
    replies: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=lambda: replies.put(websocket.receive()), daemon=True).start()
    try:
        return replies.get(timeout=WEBSOCKET_REPLY_TIMEOUT_SECONDS)
    except queue.Empty:
        pytest.fail("the WebSocket neither answered nor closed")


def _close_code(
    client: TestClient, path: str, first_message: str | bytes | None = None
) -> int | None:
    """How the server closes a connection to ``path``; None if it sent data instead."""
    reply = None
    try:
        with client.websocket_connect(path) as websocket:
            if isinstance(first_message, bytes):
                websocket.send_bytes(first_message)
            elif first_message is not None:
                websocket.send_text(first_message)
            reply = _first_reply(websocket)
    except WebSocketDisconnect as disconnect:
        if reply is not None:
            raise  # the route let an exception escape after replying: a bug in the route
        return disconnect.code  # closed before accepting
    if reply["type"] == "websocket.close":
        return int(reply.get("code", 1000))
    return None


def test_every_websocket_closes_1008_without_a_valid_token(
    client: TestClient, objects: Objects
) -> None:
    failures = []
    for route in classify(client.app).websockets:
        names = list(route.param_convertors)
        if unknown := _unknown_parameters(names):
            failures.append(_unknown_parameter_message(f"WebSocket {route.path}", unknown))
            continue
        path = _fill_path(route.path, names, objects)
        attempts: dict[str, tuple[str, str | bytes]] = {
            "a frame instead of a token": (path, _tiny_png()),
            "a first message that is not a token": (path, "hello"),
            "a forged token in the first message": (path, json.dumps({"token": "forged"})),
            "a forged token in the query": (f"{path}?token=forged", _tiny_png()),
        }
        for what, (url, first_message) in attempts.items():
            code = _close_code(client, url, first_message)
            if code != POLICY_VIOLATION:
                failures.append(f"WebSocket {route.path} with {what}: closed with {code}")
    assert not failures, "\n".join(failures)


def test_websockets_close_another_users_session_like_a_missing_one(
    client: TestClient, objects: Objects, intruder: Account
) -> None:
    token = intruder.headers["Authorization"].removeprefix("Bearer ")
    failures = []
    for route in classify(client.app).websockets:
        names = list(route.param_convertors)
        if not OWNED_PARAMETERS & set(names):
            continue
        if unknown := _unknown_parameters(names):
            failures.append(_unknown_parameter_message(f"WebSocket {route.path}", unknown))
            continue
        path = _fill_path(route.path, names, objects)
        missing_path = _with_missing_objects(path, names, objects)
        first_message = json.dumps({"token": token})
        foreign = _close_code(client, path, first_message)
        missing = _close_code(client, missing_path, first_message)
        if foreign is None or foreign != missing:
            failures.append(
                f"WebSocket {route.path}: another user's session closed with {foreign}, "
                f"a missing one with {missing}; both must close, alike, before any data"
            )
    assert not failures, "\n".join(failures)
