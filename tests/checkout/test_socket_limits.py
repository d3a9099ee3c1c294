"""Socket limits before work: the frame gate (bytes, magic, declared pixels), bounded controls,
1011 with a close frame for every unexpected error, and the server's own message limit."""

from __future__ import annotations

import io
import resource
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from checkout_scenes import empty_counter, open_socket, stream
from fastapi.testclient import TestClient
from PIL import Image
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from ebrcs import app as app_module
from ebrcs import server
from ebrcs.auth.websocket import MAX_TOKEN_MESSAGE_CHARS
from ebrcs.checkout import websocket as checkout_socket
from ebrcs.config import Settings
from ebrcs.errors import ErrorCode, PayloadTooLarge
from ebrcs.imaging import check_frame, decode_frame
from live_server import free_port

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 3840 * 2160
SERVER_START_SECONDS = 120


def pixel_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny JPEG whose header declares ``width`` x ``height`` (the data is a 16x16 image)."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (120, 60, 30)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    start_of_frame = data.index(b"\xff\xc0")
    data[start_of_frame + 5 : start_of_frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _session(client: TestClient, account: Any) -> str:
    return client.post("/api/sessions", headers=account.headers).json()["session_id"]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_frame_declaring_too_many_pixels_is_refused_from_its_header() -> None:
    bomb = pixel_bomb()
    assert len(bomb) < 1024
    with pytest.raises(PayloadTooLarge) as refused:
        decode_frame(bomb, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert refused.value.code == ErrorCode.IMAGE_TOO_MANY_PIXELS


def test_a_frame_within_the_pixel_limit_passes_the_gate() -> None:
    check_frame(pixel_bomb(640, 480), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)


def test_a_pixel_declaring_frame_on_the_socket_gets_an_error_without_a_large_allocation(
    client: TestClient, shopper: Any
) -> None:
    session_id = _session(client, shopper)
    peak_before = _peak_rss_mib()
    with open_socket(client, session_id, shopper) as ws:
        ws.send_bytes(pixel_bomb())
        error = ws.receive_json()
        reply = stream(ws, empty_counter(1))[0]

    assert (error["type"], error["code"], error["frame_id"]) == ("error", "frame_too_large", 1)
    assert "pixels" in error["message"]
    assert reply["type"] == "frame"
    # Decoding the declared 20000 x 20000 frame would take 1.2 GB.
    assert _peak_rss_mib() - peak_before < 300


@pytest.mark.parametrize(
    ("text", "code"),
    [("[" * 100_000, "message_too_large"), ("[" * 5_000, "invalid_message")],
    ids=["too long", "too deep"],
)
def test_an_oversized_or_deeply_nested_control_gets_an_error_and_the_socket_goes_on(
    client: TestClient, shopper: Any, text: str, code: str
) -> None:
    with open_socket(client, _session(client, shopper), shopper) as ws:
        ws.send_text(text)
        error = ws.receive_json()
        ws.send_text('{"annotate": true}')
        reply = stream(ws, empty_counter(1))[0]

    assert (error["type"], error["code"]) == ("error", code)
    assert reply["type"] == "frame"


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert checkout_socket.json_depth('{"roi": [[0.1, 0.2]], "note": "[[[[[[[["}') == 3


def test_an_unexpected_error_closes_the_socket_with_1011(
    client: TestClient, shopper: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*_args: Any) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(checkout_socket._CheckoutStream, "_control", fail)
    with open_socket(client, _session(client, shopper), shopper) as ws:
        ws.send_text('{"annotate": true}')
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert closed.value.code == 1011


@pytest.fixture
def served(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """``ebrcs serve``'s own uvicorn options, run in this process: its socket URL and limit."""
    small = settings.model_copy(update={"max_frame_bytes": 64 * 1024})
    monkeypatch.setattr(server, "get_settings", lambda: small)
    monkeypatch.setattr(app_module, "get_settings", lambda: small)
    options: dict[str, Any] = {}
    monkeypatch.setattr(
        server.uvicorn, "run", lambda app, **kwargs: options.update(kwargs, app=app)
    )
    port = free_port()
    server.serve(host="127.0.0.1", port=port, workers=1)
    options.pop("workers")
    running = uvicorn.Server(uvicorn.Config(**options | {"log_level": "warning"}))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not running.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running.started, "the server did not start"
    yield f"ws://127.0.0.1:{port}/api/ws/checkout/{uuid.uuid4()}", options["ws_max_size"]
    running.should_exit = True
    thread.join(timeout=30)


def _close_code_after(url: str, message: bytes) -> int | None:
    with ws_connect(url, max_size=None, open_timeout=30) as websocket:
        websocket.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=30)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_the_server_refuses_a_message_far_past_the_sockets_limits_itself(
    served: tuple[str, int],
) -> None:
    url, limit = served
    assert limit == server.ws_max_size(app_module.get_settings())
    assert limit < 16 * 1024 * 1024  # below uvicorn's own default
    # A frame a little over max_frame_bytes still reaches the socket (here: not a login, 1008);
    # one past the server's limit is refused by uvicorn before the app reads it.
    assert _close_code_after(url, b"\xff" * (limit - 1)) == 1008
    assert _close_code_after(url, b"\xff" * (limit + 1)) == 1009


def test_the_servers_message_limit_covers_every_message_the_socket_takes(
    settings: Settings,
) -> None:
    limit = server.ws_max_size(settings)
    assert limit >= settings.max_frame_bytes
    assert limit >= 4 * settings.max_control_bytes  # any UTF-8 text of that many characters
    assert limit >= 4 * MAX_TOKEN_MESSAGE_CHARS
