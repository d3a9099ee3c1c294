"""The live checkout socket: authentication, session checks, bad frames, back-pressure, cart."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
from checkout_scenes import (
    GatedPipeline,
    empty_counter,
    jpeg,
    open_socket,
    pass_through,
    register,
    stream,
)
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from ebrcs.checkout import websocket as checkout_socket
from ebrcs.checkout.models import BillingItem, RecognitionEvent

SQUARE = [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]


def _open(client: TestClient, account: Any) -> str:
    return client.post("/api/sessions", headers=account.headers).json()["session_id"]


def _closed_with(
    client: TestClient, session_id: str, account: Any | None, send: Callable[[Any], None]
) -> int:
    """The close code the server ends the socket with after ``send``."""
    with open_socket(client, session_id, account) as ws:
        send(ws)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return closed.value.code


def test_socket_without_token_is_closed_with_1008_before_any_frame(client, shopper):
    session_id = _open(client, shopper)

    code = _closed_with(client, session_id, None, lambda ws: ws.send_bytes(b"\xff\xd8\xff"))

    assert code == 1008


def test_socket_with_a_forged_token_is_closed_with_1008(client, shopper):
    session_id = _open(client, shopper)

    forged = _closed_with(client, session_id, None, lambda ws: ws.send_json({"token": "forged"}))

    assert forged == 1008


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "not-a-session-id"])
def test_unknown_session_is_closed_with_4404(client, shopper, session_id):
    assert _closed_with(client, session_id, shopper, lambda ws: None) == 4404


def test_someone_elses_session_is_closed_with_4404(client, make_account):
    alice, bob = make_account(), make_account()
    session_id = _open(client, alice)

    assert _closed_with(client, session_id, bob, lambda ws: None) == 4404


def test_ended_session_is_closed_with_4409(client, shopper):
    session_id = _open(client, shopper)
    client.delete(f"/api/sessions/{session_id}", headers=shopper.headers)

    assert _closed_with(client, session_id, shopper, lambda ws: None) == 4409


def test_corrupt_frame_gets_an_error_and_the_session_goes_on(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        ws.send_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 100)
        error = ws.receive_json()
        reply = stream(ws, empty_counter(1))[0]

    assert error["type"] == "error"
    assert error["code"] == "invalid_frame"
    assert error["frame_id"] == 1
    assert reply["type"] == "frame"
    assert reply["frame_id"] == 2


def test_non_jpeg_frame_gets_an_error(client, shopper):
    session_id = _open(client, shopper)
    _, png = cv2.imencode(".png", empty_counter(1)[0])
    with open_socket(client, session_id, shopper) as ws:
        ws.send_bytes(png.tobytes())
        error = ws.receive_json()

    assert (error["type"], error["code"], error["frame_id"]) == ("error", "invalid_frame", 1)


def test_oversized_frame_is_refused_unread(client, shopper, settings):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        ws.send_bytes(jpeg(empty_counter(1)[0]) + bytes(settings.max_frame_bytes))
        error = ws.receive_json()
        reply = stream(ws, empty_counter(1))[0]

    assert (error["type"], error["code"]) == ("error", "frame_too_large")
    assert reply["type"] == "frame"


def test_bad_control_message_gets_an_error(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        replies = []
        for text in ["not json", '{"annotate": "yes"}', '{"roi": [[0.1, 0.1]]}', "[1, 2]"]:
            ws.send_text(text)
            replies.append(ws.receive_json())

    assert [reply["code"] for reply in replies] == ["invalid_message"] * 4


def test_annotated_frame_is_sent_only_when_asked(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        plain = stream(ws, empty_counter(1))[0]
        ws.send_text('{"annotate": true}')
        annotated = stream(ws, empty_counter(1))[0]

    assert plain["annotated_jpeg"] is None
    picture = cv2.imdecode(
        np.frombuffer(base64.b64decode(annotated["annotated_jpeg"]), np.uint8), cv2.IMREAD_COLOR
    )
    assert picture.shape[:2] == empty_counter(1)[0].shape[:2]


def test_frame_reply_carries_timings_of_every_step(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        reply = stream(ws, empty_counter(1))[0]

    assert {"decode", "background", "tracking", "embedding", "search", "total"} <= set(
        reply["timings_ms"]
    )
    assert reply["cart"] == {"items": [], "total_items": 0, "total_amount": "0.00", "unsure": []}
    assert reply["dropped_frames"] == 0


def test_slow_processing_keeps_only_the_newest_frame_and_counts_the_dropped(
    client, shopper, monkeypatch
):
    gate, entered = threading.Event(), threading.Event()
    open_checkout = checkout_socket.open_live_checkout

    def gated(*args: Any) -> Any:
        checkout = open_checkout(*args)
        checkout.pipeline = GatedPipeline(checkout.pipeline, gate, entered)
        return checkout

    monkeypatch.setattr(checkout_socket, "open_live_checkout", gated)
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        ws.send_bytes(jpeg(empty_counter(1)[0]))
        assert entered.wait(timeout=30)
        for frame in empty_counter(9):
            ws.send_bytes(jpeg(frame))
        # Messages are read in order: once this control is answered, all frames were received.
        ws.send_text("{}")
        assert ws.receive_json()["type"] == "error"
        gate.set()
        first, newest = ws.receive_json(), ws.receive_json()

    assert first["frame_id"] == 1
    assert (newest["frame_id"], newest["dropped_frames"]) == (10, 8)


def test_roi_set_over_http_reaches_the_running_socket(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        stream(ws, empty_counter(1))
        client.post(
            f"/api/sessions/{session_id}/roi", json={"points": SQUARE}, headers=shopper.headers
        )
        stream(ws, empty_counter(1))
        connection = client.app.state.live_checkouts.get(uuid.UUID(session_id))
        roi = connection.checkout.pipeline.roi

    assert roi == [tuple(point) for point in SQUARE]


def test_roi_sent_on_the_socket_is_stored_on_the_session(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        ws.send_json({"roi": SQUARE})
        stream(ws, empty_counter(1))

    stored = client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()["roi"]
    assert stored == SQUARE


def test_ending_the_session_closes_its_socket_with_4409(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        stream(ws, empty_counter(1))
        client.delete(f"/api/sessions/{session_id}", headers=shopper.headers)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()

    assert closed.value.code == 4409


def test_a_second_socket_for_the_session_replaces_the_first(client, shopper):
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as first:
        stream(first, empty_counter(1))
        with open_socket(client, session_id, shopper) as second:
            with pytest.raises(WebSocketDisconnect) as closed:
                first.receive_json()
            reply = stream(second, empty_counter(1))[0]

    assert closed.value.code == 4000
    assert reply["type"] == "frame"


def _billing(client: TestClient, session_id: str) -> dict[str, int]:
    with client.app.state.runtime.sessions() as db:
        rows = db.scalars(
            select(BillingItem).where(BillingItem.session_id == uuid.UUID(session_id))
        )
        return {str(row.product_id): row.quantity for row in rows}


@pytest.mark.slow
def test_item_passing_through_is_counted_once_and_the_cart_survives_a_reconnect(
    client, admin, shopper
):
    tomato = register(client, admin.headers, "tomato", "1.10")
    register(client, admin.headers, "blueberry", "2.00")
    session_id = _open(client, shopper)

    with open_socket(client, session_id, shopper) as ws:
        replies = stream(ws, empty_counter(5) + pass_through("tomato", dwell_frames=25))
    events = [event for reply in replies for event in reply["events"]]

    assert [(event["type"], event["product_id"]) for event in events] == [("ADD", tomato)]
    assert events[0]["name"] == "Tomato"
    assert _billing(client, session_id) == {tomato: 1}

    with open_socket(client, session_id, shopper) as ws:
        cart = stream(ws, empty_counter(1))[0]["cart"]
    assert (cart["total_items"], cart["total_amount"]) == (1, "1.10")
    assert cart["items"][0]["name"] == "Tomato"


@pytest.mark.slow
def test_item_not_in_the_catalogue_is_reported_once_and_not_counted(client, admin, shopper):
    register(client, admin.headers, "tomato", "1.10")
    session_id = _open(client, shopper)

    with open_socket(client, session_id, shopper) as ws:
        replies = stream(ws, empty_counter(5) + pass_through("mystery"))
    kinds = [event["type"] for reply in replies for event in reply["events"]]

    assert kinds == ["UNRECOGNISED"]
    assert _billing(client, session_id) == {}
    with client.app.state.runtime.sessions() as db:
        logged = db.scalars(select(RecognitionEvent.kind)).all()
    assert [kind.value for kind in logged] == kinds
