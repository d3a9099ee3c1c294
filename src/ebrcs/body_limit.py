"""Request bodies are capped while they stream: 413 before the app reads past the limit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ebrcs.errors import ErrorCode
from ebrcs.http_errors import error_json

# Room for the multipart envelope (boundaries, part headers, small fields) around the files.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BodyTooLarge(HTTPException):
    """The body went past its route's limit (raised from ``receive``, so the app stops reading)."""

    code = ErrorCode.BODY_TOO_LARGE

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


@dataclass(frozen=True)
class RouteLimit:
    """The body limit of the requests whose path fully matches ``pattern``."""

    pattern: re.Pattern[str]
    max_bytes: int


class BodyLimit:
    """ASGI middleware: refuse a body over its limit, announced (Content-Length) or streamed.

    An announced size over the limit is answered 413 at once, unread; a body without one
    (chunked) is counted as it arrives and cut off with 413 at the first byte past the limit.
    """

    def __init__(self, app: ASGIApp, *, default_bytes: int, routes: Sequence[RouteLimit]) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.routes = routes

    def limit_for(self, path: str) -> int:
        """The body limit of ``path``."""
        for route in self.routes:
            if route.pattern.fullmatch(path):
                return route.max_bytes
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Raised where no exception handler answers (e.g. a body read after the response).
            if not started:
                await _refuse(scope, receive, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = error_json(
        413,
        f"the request body is larger than {limit} bytes",
        ErrorCode.BODY_TOO_LARGE,
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
