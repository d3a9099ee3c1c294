"""The OpenAPI document as the API behaves: every error a route answers, in the one error shape.

FastAPI documents only the success and its own 422. Here each operation also gets, as
``ErrorBody``: 401 where a token is needed, 403 where an admin is, 404 where the path names an
object, 422 where it takes input, 400 and 413 where it takes a body, and the domain's 409/429
where a service raises them (``DOMAIN_ERRORS``); limits that live in Settings are filled in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from ebrcs.auth.deps import current_user, require_admin
from ebrcs.config import Settings
from ebrcs.http_errors import ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
DESCRIPTIONS = {
    400: "The body cannot be parsed (malformed JSON or multipart)",
    401: "Missing, invalid or expired credentials",
    403: "The caller's role may not do this",
    404: "No such object, or not the caller's",
    409: "The object's state does not allow this now",
    413: "The body (or a file in it) is over its limit",
    422: "Invalid input; validation errors list the failing fields",
    429: "Too many requests; see Retry-After",
}
DOMAIN_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/api/auth/signup"): (409, 429),
    ("post", "/api/auth/login"): (401, 429),
    ("post", "/api/products"): (409,),
    ("patch", "/api/products/{product_id}"): (409,),
    ("delete", "/api/products/{product_id}/images/{image_id}"): (409,),
    ("post", "/api/sessions"): (409,),
    ("post", "/api/sessions/{session_id}/roi"): (409,),
    ("delete", "/api/sessions/{session_id}/roi"): (409,),
    ("post", "/api/sessions/{session_id}/video-upload"): (409, 429),
    ("post", "/api/sessions/{session_id}/unsure/{item_id}/resolve"): (409,),
    ("post", "/api/sessions/{session_id}/unsure/{item_id}/dismiss"): (409,),
    ("put", "/api/sessions/{session_id}/billing"): (409,),
    ("post", "/api/sessions/{session_id}/billing/items"): (409,),
    ("post", "/api/sessions/{session_id}/billing/confirm"): (409,),
}
"""The 409s and 429s (and login's 401), which no signature shows."""


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _auth_of_operations(app: FastAPI) -> dict[tuple[str, str], set[int]]:
    """(method, path) → 401 and/or 403, read from each route's dependencies."""
    statuses: dict[tuple[str, str], set[int]] = {}
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if dependant is None:
            continue
        calls = set(_calls(dependant))
        found = {401} if current_user in calls else set()
        if require_admin in calls:
            found |= {401, 403}
        for method in getattr(context, "methods", None) or ():
            statuses[(method.lower(), context.path)] = found
    return statuses


def _error_schemas() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"ErrorBody": schema, **definitions}


def _document_errors(document: dict[str, Any], auth: dict[tuple[str, str], set[int]]) -> None:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = set(auth.get((method, path), set()))
            statuses |= set(DOMAIN_ERRORS.get((method, path), ()))
            if "{" in path:
                statuses.add(404)
            body = operation.get("requestBody")
            if operation.get("parameters") or body:
                statuses.add(422)
            if body:
                statuses |= {400, 413}
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses[str(status)] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ERROR_REF}},
                }
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(_error_schemas())


def _fill_in_limits(document: dict[str, Any], settings: Settings) -> None:
    """Limits that are settings, not constants: photos per request, cart quantities."""
    schemas = document.get("components", {}).get("schemas", {})
    quantity = schemas.get("QuantityIn", {}).get("properties", {}).get("quantity")
    if quantity is not None:
        quantity.update(minimum=0, maximum=settings.max_cart_quantity)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            form = content.get("multipart/form-data", {}).get("schema", {})
            images = form.get("properties", {}).get("images")
            if images is not None:
                images["maxItems"] = settings.max_images_per_product


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _document_errors(document, _auth_of_operations(app))
            _fill_in_limits(document, settings)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
