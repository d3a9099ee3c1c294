"""The one place errors become HTTP responses, all of one shape (see ``ebrcs.errors``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.websockets import WebSocket, WebSocketDisconnect

from ebrcs.errors import DomainError, ErrorCode, TooManyRequests, describe, field_errors

STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.TOO_MANY_REQUESTS,
}


class FieldError(BaseModel):
    """One field that failed validation."""

    loc: list[str | int] = Field(description="where: body, query, path or form, then the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error response: an English ``detail`` and a stable ``code`` to translate."""

    detail: str
    code: ErrorCode
    errors: list[FieldError] | None = Field(
        default=None, description="validation errors only: each failing field"
    )


def error_json(
    status_code: int,
    detail: str,
    code: ErrorCode,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error response of the one shape."""
    content: dict[str, Any] = {"detail": detail, "code": code.value}
    if errors is not None:
        content["errors"] = errors
    return JSONResponse(status_code=status_code, content=content, headers=headers)


def _allowed_methods(request: Request) -> str | None:
    """Every method the documented routes at this path accept (Starlette names one route's)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) or None


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain, validation, routing and unexpected errors in the one shape."""

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, error: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
        if isinstance(error, TooManyRequests):
            headers = {"Retry-After": str(error.retry_after_seconds)}
        errors = getattr(error, "errors", None)
        return error_json(
            error.status_code, error.message, error.code, errors=errors, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(error.errors()))
        return error_json(422, describe(errors), ErrorCode.VALIDATION_ERROR, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        allowed = _allowed_methods(request) if error.status_code == 405 else None
        if allowed:
            headers["Allow"] = allowed
        code = getattr(error, "code", None) or STATUS_CODES.get(
            error.status_code, ErrorCode.BAD_REQUEST
        )
        return error_json(error.status_code, str(error.detail), code, headers=headers or None)

    async def _socket_closed(_websocket: WebSocket, _error: Exception) -> None:
        """A socket closed while its dependencies ran (the client left, or its login failed
        and ``authenticate_websocket`` closed it with 1008) needs no answer."""

    app.add_exception_handler(WebSocketDisconnect, _socket_closed)

    @app.exception_handler(Exception)
    async def _server_error(_request: Request, _error: Exception) -> JSONResponse:
        # Starlette logs the traceback and re-raises after this answer.
        return error_json(500, "internal server error", ErrorCode.SERVER_ERROR)
