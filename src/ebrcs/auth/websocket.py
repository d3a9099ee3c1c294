"""WebSocket authentication at the handshake, before any frame is processed."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.websockets import WebSocket, WebSocketDisconnect

from ebrcs.auth.deps import load_active_user
from ebrcs.auth.models import User
from ebrcs.config import Settings
from ebrcs.errors import NotAuthenticated

# A token message is a few hundred characters; anything far longer is not one, and is
# refused before it is parsed.
MAX_TOKEN_MESSAGE_CHARS = 4096


async def authenticate_websocket(
    websocket: WebSocket, settings: Settings, sessions: sessionmaker[Session]
) -> User:
    """Accept the connection and return its active user, or close it with 1008 and raise.

    The token is the first message, which must be the text ``{"token": "..."}`` (sent within
    ``settings.websocket_auth_timeout_seconds``); a ``?token=`` query parameter is not read,
    since query strings land in access logs. On failure the socket is closed with code
    1008 and ``WebSocketDisconnect(1008)`` is raised, so the caller never sees a frame from an
    unauthenticated client; the caller catches it and returns. The connection is accepted
    here; callers must not accept it again.

    Example::

        try:
            user = await authenticate_websocket(websocket, runtime.settings, runtime.sessions)
        except WebSocketDisconnect:
            return
    """
    # Accept first so that the browser receives the 1008 close code and reason; a close
    # before accept only reaches it as a failed HTTP handshake.
    await websocket.accept()
    try:
        token = await _first_message_token(websocket, settings.websocket_auth_timeout_seconds)
        return await run_in_threadpool(_load_user, token, settings, sessions)
    except NotAuthenticated as error:
        await websocket.close(code=WS_1008_POLICY_VIOLATION, reason=error.message)
        raise WebSocketDisconnect(WS_1008_POLICY_VIOLATION, error.message) from error


async def _first_message_token(websocket: WebSocket, timeout_seconds: float) -> str:
    """The token of the first message ``{"token": ...}``; NotAuthenticated for anything else."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=timeout_seconds)
    except TimeoutError as error:
        raise NotAuthenticated("no token sent in time") from error
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text") or ""
    if len(text) > MAX_TOKEN_MESSAGE_CHARS:
        raise NotAuthenticated('the first message must be {"token": "..."}')
    try:
        token = json.loads(text)["token"]
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        raise NotAuthenticated('the first message must be {"token": "..."}') from error
    if not isinstance(token, str) or not token:
        raise NotAuthenticated('the first message must be {"token": "..."}')
    return token


def _load_user(token: str, settings: Settings, sessions: sessionmaker[Session]) -> User:
    with sessions() as db:
        return load_active_user(token, db=db, settings=settings)
