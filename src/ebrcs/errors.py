"""Domain errors raised by services, and the one place they become HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class DomainError(Exception):
    """A failure the caller can act on; ``status_code`` is how HTTP reports it."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422


class NotAuthenticated(DomainError):
    """No valid credentials were presented."""

    status_code = 401


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The object does not exist, or is not the caller's to see."""

    status_code = 404


class Conflict(DomainError):
    """The object's state does not allow this now."""

    status_code = 409


class PayloadTooLarge(DomainError):
    """An upload or frame is over its size limit."""

    status_code = 413


class TooManyRequests(DomainError):
    """The caller must wait before trying again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def install_error_handlers(app: FastAPI) -> None:
    """Translate every ``DomainError`` into a JSON error with its status code."""

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, error: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
        if isinstance(error, TooManyRequests):
            headers = {"Retry-After": str(error.retry_after_seconds)}
        return JSONResponse(
            status_code=error.status_code, content={"detail": error.message}, headers=headers
        )
