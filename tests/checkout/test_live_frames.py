"""The frame path: one transaction per frame with events, nothing read back without them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth.models import User
from ebrcs.catalog.models import Product
from ebrcs.checkout import cart
from ebrcs.checkout.live import LiveCheckout
from ebrcs.checkout.models import CheckoutSession, EventKind, UnresolvedItem
from ebrcs.checkout.pipeline import CountEvent, FrameResult
from ebrcs.config import Settings
from ebrcs.recognition.types import ProductMatch

FRAME = np.zeros((90, 160, 3), np.uint8)


class ScriptedPipeline:
    """A pipeline whose n-th frame reports the n-th list of events."""

    roi = None

    def __init__(self, script: list[list[CountEvent]]) -> None:
        self.script = iter(script)

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> FrameResult:
        return FrameResult(detections=[], events=next(self.script), timings_ms={"total": 0.0})

    def set_roi(self, roi: object) -> None:
        raise AssertionError("not used")


@pytest.fixture
def ids(db: Session) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A session and two products: (session, milk, juice)."""
    user = User(username=f"shopper_{uuid.uuid4().hex[:8]}", password_hash="x")
    milk, juice = Product(name="Milk", price=Decimal("1.20")), Product(name="Juice")
    db.add_all([user, milk, juice])
    db.flush()
    session = CheckoutSession(user_id=user.id, session_metadata={})
    db.add(session)
    db.commit()
    return session.id, milk.id, juice.id


@pytest.fixture
def statements(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    """Every SQL statement and COMMIT sent on the test database from now on."""
    engine = sessions.kw["bind"]
    sent: list[str] = []

    def _statement(*args: object) -> None:
        sent.append(str(args[2]))  # (connection, cursor, statement, parameters, ...)

    def _commit(_connection: object) -> None:
        sent.append("COMMIT")

    event.listen(engine, "before_cursor_execute", _statement)
    event.listen(engine, "commit", _commit)
    yield sent
    event.remove(engine, "before_cursor_execute", _statement)
    event.remove(engine, "commit", _commit)


def _checkout(
    sessions: sessionmaker[Session], settings: Settings, session_id: uuid.UUID, script: list
) -> LiveCheckout:
    return LiveCheckout(
        session_id=session_id,
        pipeline=ScriptedPipeline(script),
        db_sessions=sessions,
        settings=settings,
    )


def test_a_frame_with_several_events_is_one_transaction(
    sessions: sessionmaker[Session], settings: Settings, ids, statements: list[str]
) -> None:
    session_id, milk, juice = ids
    unsure = CountEvent(
        EventKind.UNRECOGNISED,
        None,
        0.8,
        track_id=3,
        timestamp=0.0,
        candidates=(ProductMatch(juice, 0.8), ProductMatch(milk, 0.78)),
        crop_rgb=np.full((40, 30, 3), 90, np.uint8),
    )
    frame = [
        CountEvent(EventKind.ADD, milk, 0.95, track_id=1, timestamp=0.0),
        CountEvent(EventKind.ADD, milk, 0.93, track_id=2, timestamp=0.0),
        unsure,
    ]
    checkout = _checkout(sessions, settings, session_id, [frame])
    outcome = checkout.process_frame(FRAME, 0.0, annotate=False)

    assert statements.count("COMMIT") == 1
    assert outcome.cart is not None
    assert [(line.name, line.quantity) for line in outcome.cart.items] == [("Milk", 2)]
    assert [e.type for e in outcome.events] == ["ADD", "ADD", "UNSURE"]
    (item,) = outcome.cart.unsure
    assert outcome.events[2].unsure == item
    assert [c.name for c in item.candidates] == ["Juice", "Milk"] and item.crop_url
    with sessions() as db:
        assert db.get_one(UnresolvedItem, item.id).crop_path is not None


def test_frames_without_events_read_no_cart_after_the_first(
    sessions: sessionmaker[Session], settings: Settings, ids, statements: list[str]
) -> None:
    session_id, _milk, _juice = ids
    checkout = _checkout(sessions, settings, session_id, [[], [], []])
    first = checkout.process_frame(FRAME, 0.0, annotate=False)
    statements.clear()
    later = [checkout.process_frame(FRAME, t, annotate=False) for t in (0.1, 0.2)]

    assert first.cart is not None and first.cart.items == []
    assert [outcome.cart for outcome in later] == [None, None]
    assert not [s for s in statements if "billing_items" in s or "unresolved_items" in s]


def test_an_unsure_item_taken_back_out_leaves_the_bill_and_a_named_one_loses_its_unit(
    sessions: sessionmaker[Session], settings: Settings, ids
) -> None:
    session_id, milk, juice = ids
    candidates = (ProductMatch(juice, 0.8), ProductMatch(milk, 0.78))

    def unsure(track_id: int) -> CountEvent:
        return CountEvent(EventKind.UNRECOGNISED, None, 0.8, track_id, 0.0, candidates)

    def withdrawn(track_id: int) -> CountEvent:
        return CountEvent(EventKind.REMOVE, None, 0.8, track_id + 10, 1.0, withdraws=track_id)

    script = [[unsure(1), unsure(2)], [withdrawn(1)], [withdrawn(2)]]
    checkout = _checkout(sessions, settings, session_id, script)
    counted = checkout.process_frame(FRAME, 0.0, annotate=False)
    assert counted.cart is not None and len(counted.cart.unsure) == 2

    taken_out = checkout.process_frame(FRAME, 1.0, annotate=False)
    assert [e.type for e in taken_out.events] == ["UNSURE_REMOVED"]
    assert taken_out.cart is not None
    assert [item.id for item in taken_out.cart.unsure] == [counted.cart.unsure[1].id]

    with sessions() as db:  # the shopper names the other one before it is taken out too
        cart.resolve_unsure(
            db=db,
            session_id=session_id,
            item_id=counted.cart.unsure[1].id,
            product_id=juice,
            max_quantity=99,
        )
    last = checkout.process_frame(FRAME, 2.0, annotate=False)
    assert last.cart is not None and last.cart.items == [] and last.cart.unsure == []
