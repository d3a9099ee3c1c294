"""Counting the WebSocket connections in progress, for ``ebrcs_websockets_open``."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ebrcs import metrics


class CountOpenSockets:
    """ASGI middleware keeping ``ebrcs_websockets_open`` at the connections in progress."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        with metrics.SOCKETS_OPEN.track_inprogress():
            await self.app(scope, receive, send)
