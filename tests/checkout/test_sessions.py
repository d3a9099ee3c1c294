"""Checkout sessions over HTTP: ownership, ROI, ending and idle expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ebrcs.checkout import service
from ebrcs.checkout.expiry import expire_idle_sessions
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.db.base import utcnow

SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]


def _open(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/api/sessions", headers=headers)
    assert response.status_code == 201
    return response.json()["session_id"]


def _idle_for(client: TestClient, session_id: str, minutes: int) -> None:
    """Pretend the session was last used ``minutes`` ago."""
    with client.app.state.runtime.sessions() as db:
        db.execute(
            update(CheckoutSession)
            .where(CheckoutSession.id == uuid.UUID(session_id))
            .values(last_active=utcnow() - timedelta(minutes=minutes))
        )
        db.commit()


def _sweep(client: TestClient) -> int:
    runtime = client.app.state.runtime
    return expire_idle_sessions(db_sessions=runtime.sessions, settings=runtime.settings)


def test_new_session_is_active_with_an_empty_cart_and_no_roi(client, shopper):
    session_id = _open(client, shopper.headers)

    body = client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()

    assert body["status"] == "active"
    assert body["roi"] is None
    assert body["cart"] == {"items": [], "total_items": 0, "total_amount": "0.00", "unsure": []}


def test_session_list_holds_only_the_callers_sessions(client, make_account):
    alice, bob = make_account(), make_account()
    mine = {_open(client, alice.headers), _open(client, alice.headers)}
    _open(client, bob.headers)

    listed = client.get("/api/sessions", headers=alice.headers).json()

    assert {row["session_id"] for row in listed} == mine


def test_someone_elses_session_is_not_found(client, make_account):
    alice, bob = make_account(), make_account()
    session_id = _open(client, alice.headers)

    for method, path, body in [
        ("GET", f"/api/sessions/{session_id}", None),
        ("DELETE", f"/api/sessions/{session_id}", None),
        ("POST", f"/api/sessions/{session_id}/roi", {"points": SQUARE}),
        ("DELETE", f"/api/sessions/{session_id}/roi", None),
    ]:
        response = client.request(method, path, json=body, headers=bob.headers)
        assert response.status_code == 404, (method, path)
    assert client.get(f"/api/sessions/{session_id}", headers=alice.headers).json()["roi"] is None


def test_sessions_need_a_login(client):
    assert client.post("/api/sessions").status_code == 401
    assert client.get("/api/sessions").status_code == 401


def test_roi_is_stored_on_the_session_and_can_be_cleared(client, shopper):
    session_id = _open(client, shopper.headers)

    stored = client.post(
        f"/api/sessions/{session_id}/roi", json={"points": SQUARE}, headers=shopper.headers
    )
    assert stored.status_code == 200
    assert client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()["roi"] == [
        list(point) for point in SQUARE
    ]

    cleared = client.delete(f"/api/sessions/{session_id}/roi", headers=shopper.headers)
    assert cleared.json() == {"roi": None}
    assert client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()["roi"] is None


@pytest.mark.parametrize(
    "points",
    [
        [[0.1, 0.1], [0.9, 0.9]],
        [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]],
        [[0.1, 0.1], [1.5, 0.1], [0.9, 0.9]],
        [[0.1, 0.1], [-0.1, 0.1], [0.9, 0.9]],
        [[0.1, 0.1, 0.3], [0.9, 0.1], [0.9, 0.9]],
        [[0.5, 0.5]] * 3,
        [[0.1 + 0.001 * i, 0.1] for i in range(service.MAX_ROI_POINTS)] + [[0.5, 0.9]],
    ],
    ids=["two-points", "collinear", "outside", "negative", "three-coords", "one-spot", "too-many"],
)
def test_bad_roi_is_rejected_and_nothing_is_stored(client, shopper, points):
    session_id = _open(client, shopper.headers)

    response = client.post(
        f"/api/sessions/{session_id}/roi", json={"points": points}, headers=shopper.headers
    )

    assert response.status_code == 422
    assert client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()["roi"] is None


def test_non_finite_roi_coordinates_are_rejected():
    with pytest.raises(service.InvalidInput):
        service.validate_roi([[0.1, 0.1], [float("nan"), 0.1], [0.9, 0.9]])


def test_ending_a_session_expires_it_and_its_roi_can_no_longer_change(client, shopper):
    session_id = _open(client, shopper.headers)

    assert client.delete(f"/api/sessions/{session_id}", headers=shopper.headers).status_code == 204
    assert client.delete(f"/api/sessions/{session_id}", headers=shopper.headers).status_code == 204

    body = client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()
    assert body["status"] == "expired"
    roi = client.post(
        f"/api/sessions/{session_id}/roi", json={"points": SQUARE}, headers=shopper.headers
    )
    assert roi.status_code == 409


def test_idle_session_expires_when_it_is_next_read(client, shopper, settings):
    session_id = _open(client, shopper.headers)
    _idle_for(client, session_id, settings.session_ttl_minutes + 1)

    body = client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()

    assert body["status"] == "expired"


def test_a_session_idle_past_the_ttl_takes_no_video_and_expires(client, shopper, settings):
    session_id = _open(client, shopper.headers)
    _idle_for(client, session_id, settings.session_ttl_minutes + 1)

    upload = client.post(
        f"/api/sessions/{session_id}/video-upload",
        files={"video": ("shelf.mp4", b"not read", "video/mp4")},
        headers=shopper.headers,
    )

    assert (upload.status_code, upload.json()["code"]) == (409, "session_not_active")
    body = client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()
    assert body["status"] == "expired"


def test_sweep_expires_only_sessions_idle_past_the_ttl(client, shopper, settings):
    idle = _open(client, shopper.headers)
    recent = _open(client, shopper.headers)
    _idle_for(client, idle, settings.session_ttl_minutes + 1)
    _idle_for(client, recent, settings.session_ttl_minutes - 1)

    assert _sweep(client) == 1

    with client.app.state.runtime.sessions() as db:
        assert db.get(CheckoutSession, uuid.UUID(idle)).status == SessionStatus.EXPIRED
        assert db.get(CheckoutSession, uuid.UUID(recent)).status == SessionStatus.ACTIVE
