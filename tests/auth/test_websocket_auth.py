"""authenticate_websocket: the token from the query or the first message, else close 1008."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ebrcs.app import create_app
from ebrcs.auth import service
from ebrcs.auth.websocket import authenticate_websocket
from ebrcs.config import Settings


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The app plus a socket that greets its authenticated user and echoes one frame."""
    settings = settings.model_copy(update={"websocket_auth_timeout_seconds": 0.2})
    app = create_app(settings)

    @app.websocket("/test/ws")
    async def greet(websocket: WebSocket) -> None:
        sessions = websocket.app.state.runtime.sessions
        try:
            user = await authenticate_websocket(websocket, settings, sessions)
        except WebSocketDisconnect:
            return
        await websocket.send_json({"hello": user.username})
        await websocket.send_json({"frame_bytes": len(await websocket.receive_bytes())})
        await websocket.close()

    return app


@pytest.fixture
def socket_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def account(socket_client: TestClient, settings: Settings) -> Any:
    from ebrcs.auth import tokens

    with socket_client.app.state.runtime.sessions() as db:
        user = service.create(db=db, username="counter1", password="correct horse")
        return user, tokens.issue(user, settings).token


def test_a_valid_token_in_the_query_is_not_accepted(
    socket_client: TestClient, account: Any
) -> None:
    # Query strings land in access logs, so the token travels in the first message only.
    _user, token = account
    assert _closed_with(socket_client, f"/test/ws?token={token}", None) == 1008


def test_a_token_in_the_first_message_authenticates(
    socket_client: TestClient, account: Any
) -> None:
    _user, token = account
    with socket_client.websocket_connect("/test/ws") as websocket:
        websocket.send_text(json.dumps({"token": token}))
        assert websocket.receive_json() == {"hello": "counter1"}
        websocket.send_bytes(b"jpeg frame")
        assert websocket.receive_json() == {"frame_bytes": 10}


def _closed_with(client: TestClient, path: str, first: str | bytes | None) -> int:
    with client.websocket_connect(path) as websocket:
        if isinstance(first, bytes):
            websocket.send_bytes(first)
        elif first is not None:
            websocket.send_text(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_json()
    return closed.value.code


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("", b"\xff\xd8 a jpeg frame before any token"),
        ("", "hello"),
        ("", json.dumps({"token": 42})),
        ("", json.dumps({"token": "forged"})),
        ("", json.dumps(["token"])),
        ("?token=forged", None),
        ("", "[" * 100_000),
        ("", "[" * 3_000),
        ("", None),  # says nothing: closed when the wait for a token is over
    ],
)
def test_anything_but_a_valid_token_closes_1008_before_a_frame_is_read(
    socket_client: TestClient, query: str, first: str | bytes | None
) -> None:
    assert _closed_with(socket_client, f"/test/ws{query}", first) == 1008


def test_a_deactivated_users_token_closes_1008(socket_client: TestClient, account: Any) -> None:
    user, token = account
    with socket_client.app.state.runtime.sessions() as db:
        service.set_active(db=db, user=db.merge(user), active=False)
    assert _closed_with(socket_client, "/test/ws", json.dumps({"token": token})) == 1008
