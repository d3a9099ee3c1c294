"""Learning from corrections on the live path: ADD crops kept, learned on confirm, swept."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from checkout_scenes import empty_counter, open_socket, pass_through, register, stream
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from ebrcs.catalog.models import ProductImage
from ebrcs.checkout import crops
from ebrcs.checkout.expiry import expire_idle_sessions
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.config import Settings
from ebrcs.db.base import utcnow


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with learning from corrections switched on."""
    return settings.model_copy(update={"learn_from_corrections": True})


def _open(client: TestClient, account: Any) -> str:
    return client.post("/api/sessions", headers=account.headers).json()["session_id"]


def _photos_of(client: TestClient, product_id: str) -> int:
    with client.app.state.runtime.sessions() as db:
        query = select(func.count()).where(ProductImage.product_id == uuid.UUID(product_id))
        return db.scalar(query) or 0


def _crops(settings: Settings, session_id: str) -> list[str]:
    folder = crops.session_crops_dir(settings, uuid.UUID(session_id))
    return sorted(path.suffix for path in folder.iterdir()) if folder.exists() else []


@pytest.mark.slow
def test_misread_item_corrected_on_the_bill_becomes_a_photo_of_the_right_product(
    client, admin, shopper, settings
):
    # The catalogue's only tomato-looking photo is filed under the wrong product.
    apple = register(client, admin.headers, "tomato", "0.80", name="Apple")
    tomato = register(client, admin.headers, "blueberry", "1.10", name="Tomato")
    session_id = _open(client, shopper)
    with open_socket(client, session_id, shopper) as ws:
        replies = stream(ws, empty_counter(5) + pass_through("tomato", dwell_frames=25))
    events = [(event["type"], event["product_id"]) for r in replies for event in r["events"]]
    assert events == [("ADD", apple)]
    assert _crops(settings, session_id) == [".jpg"]
    vectors_before = client.app.state.runtime.index.ntotal

    items = [{"product_id": tomato, "quantity": 1}]
    put = client.put(
        f"/api/sessions/{session_id}/billing", json={"items": items}, headers=shopper.headers
    )
    confirm = client.post(f"/api/sessions/{session_id}/billing/confirm", headers=shopper.headers)

    assert (put.status_code, confirm.status_code) == (200, 200)
    assert (_photos_of(client, tomato), _photos_of(client, apple)) == (2, 1)
    assert client.app.state.runtime.index.ntotal == vectors_before + 1
    assert _crops(settings, session_id) == []


def _keep_crop(settings: Settings, session_id: str) -> None:
    crop = np.full((40, 30, 3), 90, np.uint8)
    kept = crops.save_crop(
        settings=settings, session_id=uuid.UUID(session_id), event_id=uuid.uuid4(), crop_rgb=crop
    )
    assert kept is not None


def _set_session(client: TestClient, session_id: str, **values: Any) -> None:
    with client.app.state.runtime.sessions() as db:
        db.execute(
            update(CheckoutSession)
            .where(CheckoutSession.id == uuid.UUID(session_id))
            .values(**values)
        )
        db.commit()


def _sweep(client: TestClient) -> int:
    runtime = client.app.state.runtime
    return expire_idle_sessions(db_sessions=runtime.sessions, settings=runtime.settings)


def test_expiry_sweep_deletes_crops_no_confirmation_will_learn_from(client, shopper, settings):
    long_ago = utcnow() - timedelta(minutes=settings.session_ttl_minutes + 1)
    idle, active, just_completed, completed_long_ago = (_open(client, shopper) for _ in range(4))
    for session_id in (idle, active, just_completed, completed_long_ago):
        _keep_crop(settings, session_id)
    _set_session(client, idle, last_active=long_ago)
    _set_session(client, just_completed, status=SessionStatus.COMPLETED)
    _set_session(client, completed_long_ago, status=SessionStatus.COMPLETED, last_active=long_ago)

    assert _sweep(client) == 1

    assert _crops(settings, idle) == _crops(settings, completed_long_ago) == []
    assert _crops(settings, active) == _crops(settings, just_completed) == [".jpg"]


def test_crops_of_a_session_that_no_longer_exists_are_swept(client, settings):
    orphan = str(uuid.uuid4())
    _keep_crop(settings, orphan)

    _sweep(client)

    assert _crops(settings, orphan) == []
