"""The cart service: what recognition and the shopper do to a session's billing items."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth.models import User
from ebrcs.catalog.models import Product
from ebrcs.checkout import cart
from ebrcs.checkout.models import (
    BillingItem,
    CheckoutSession,
    EventKind,
    RecognitionEvent,
    SessionStatus,
)
from ebrcs.errors import Conflict, InvalidInput, NotFound

MakeProduct = Callable[..., uuid.UUID]


@pytest.fixture
def session_id(db: Session) -> uuid.UUID:
    """An active checkout session of a fresh user."""
    user = User(username=f"shopper_{uuid.uuid4().hex[:8]}", password_hash="x")
    db.add(user)
    db.flush()
    checkout = CheckoutSession(user_id=user.id, session_metadata={})
    db.add(checkout)
    db.commit()
    return checkout.id


@pytest.fixture
def make_product(db: Session) -> MakeProduct:
    """Insert a product: ``make_product("Milk", "1.20", is_active=True)``."""

    def _make(name: str = "Milk", price: str = "1.00", *, is_active: bool = True) -> uuid.UUID:
        product = Product(name=name, price=Decimal(price), is_active=is_active)
        db.add(product)
        db.commit()
        return product.id

    return _make


def _quantities(db: Session, session_id: uuid.UUID) -> dict[str, int]:
    return {line.name: line.quantity for line in cart.lines(db=db, session_id=session_id)}


def _set_status(db: Session, session_id: uuid.UUID, status: SessionStatus) -> None:
    db.get_one(CheckoutSession, session_id).status = status
    db.commit()


def test_second_identical_item_is_counted_twice(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.8)
    item = cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.6)
    assert item.quantity == 2
    assert item.avg_score == pytest.approx(0.7)
    assert _quantities(db, session_id) == {"Milk": 2}


def test_average_score_is_the_mean_of_every_counted_item(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")
    for score in (0.9, 0.6, 0.3):
        item = cart.record_add(db=db, session_id=session_id, product_id=milk, score=score)
    assert item.avg_score == pytest.approx(0.6)


def test_scores_outside_zero_to_one_are_clamped(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")
    item = cart.record_add(db=db, session_id=session_id, product_id=milk, score=1.0000002)
    assert item.avg_score == 1.0


def test_remove_decrements_and_deletes_the_line_at_zero(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    remaining = cart.record_remove(db=db, session_id=session_id, product_id=milk)
    assert remaining is not None and remaining.quantity == 1
    assert cart.record_remove(db=db, session_id=session_id, product_id=milk) is None
    assert db.scalar(select(func.count()).select_from(BillingItem)) == 0


def test_removing_a_product_not_in_the_cart_changes_nothing(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk, bread = make_product("Milk"), make_product("Bread")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    assert cart.record_remove(db=db, session_id=session_id, product_id=bread) is None
    assert _quantities(db, session_id) == {"Milk": 1}


def test_every_counting_decision_is_kept_as_an_event(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    cart.record_remove(db=db, session_id=session_id, product_id=milk, score=0.7)
    cart.record_event(db=db, session_id=session_id, kind=EventKind.UNRECOGNISED, score=0.2)
    events = db.scalars(select(RecognitionEvent).order_by(RecognitionEvent.created_at)).all()
    assert [(event.kind, event.product_id) for event in events] == [
        (EventKind.ADD, milk),
        (EventKind.REMOVE, milk),
        (EventKind.UNRECOGNISED, None),
    ]


@pytest.mark.parametrize("status", [SessionStatus.COMPLETED, SessionStatus.EXPIRED])
def test_cart_of_a_session_that_is_not_active_cannot_change(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct, status: SessionStatus
) -> None:
    milk = make_product("Milk")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    _set_status(db, session_id, status)
    changes: list[Callable[[], object]] = [
        lambda: cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9),
        lambda: cart.record_remove(db=db, session_id=session_id, product_id=milk),
        lambda: cart.set_quantities(
            db=db, session_id=session_id, quantities={milk: 5}.items(), max_quantity=99
        ),
        lambda: cart.add_items(
            db=db, session_id=session_id, product_id=milk, quantity=1, max_quantity=99
        ),
    ]
    for change in changes:
        with pytest.raises(Conflict):
            change()
    assert _quantities(db, session_id) == {"Milk": 1}
    assert db.scalar(select(func.count()).select_from(RecognitionEvent)) == 1


def test_unknown_session_is_not_found(db: Session, make_product: MakeProduct) -> None:
    with pytest.raises(NotFound):
        cart.record_add(db=db, session_id=uuid.uuid4(), product_id=make_product(), score=0.5)


def test_line_totals_and_cart_total_are_exact_to_the_cent(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    gum, cheese = make_product("Gum", "0.10"), make_product("Cheese", "3.33")
    cart.set_quantities(
        db=db, session_id=session_id, quantities={gum: 3, cheese: 3}.items(), max_quantity=99
    )
    loaded = cart.load(db=db, session_id=session_id)
    by_name = {line.name: line for line in loaded.lines}
    assert by_name["Gum"].line_total == Decimal("0.30")
    assert by_name["Cheese"].line_total == Decimal("9.99")
    assert loaded.total_amount == Decimal("10.29")
    assert loaded.total_items == 6
    assert all(isinstance(line.unit_price, Decimal) for line in loaded.lines)


def test_set_quantities_sets_exactly_and_zero_removes(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk, bread, eggs = make_product("Milk"), make_product("Bread"), make_product("Eggs")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    cart.record_add(db=db, session_id=session_id, product_id=bread, score=0.9)
    cart.set_quantities(
        db=db,
        session_id=session_id,
        quantities={milk: 4, bread: 0, eggs: 2}.items(),
        max_quantity=99,
    )
    assert _quantities(db, session_id) == {"Milk": 4, "Eggs": 2}


@pytest.mark.parametrize(
    ("quantity", "product_kind"),
    [(-1, "sold"), (100, "sold"), (1, "unknown"), (1, "inactive")],
)
def test_rejected_set_quantities_leave_the_cart_untouched(
    db: Session,
    session_id: uuid.UUID,
    make_product: MakeProduct,
    quantity: int,
    product_kind: str,
) -> None:
    milk = make_product("Milk")
    cart.record_add(db=db, session_id=session_id, product_id=milk, score=0.9)
    other = {
        "sold": make_product("Bread"),
        "unknown": uuid.uuid4(),
        "inactive": make_product("Old", is_active=False),
    }[product_kind]
    with pytest.raises(InvalidInput):
        cart.set_quantities(
            db=db,
            session_id=session_id,
            quantities={milk: 5, other: quantity}.items(),
            max_quantity=99,
        )
    assert _quantities(db, session_id) == {"Milk": 1}


def test_adding_by_hand_beyond_the_limit_is_rejected(
    db: Session, session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")
    cart.add_items(db=db, session_id=session_id, product_id=milk, quantity=8, max_quantity=9)
    with pytest.raises(InvalidInput):
        cart.add_items(db=db, session_id=session_id, product_id=milk, quantity=2, max_quantity=9)
    cart.add_items(db=db, session_id=session_id, product_id=milk, quantity=1, max_quantity=9)
    assert _quantities(db, session_id) == {"Milk": 9}


def test_concurrent_adds_from_separate_connections_all_count(
    sessions: sessionmaker[Session], session_id: uuid.UUID, make_product: MakeProduct
) -> None:
    milk = make_product("Milk")

    def add_one(_: int) -> None:
        with sessions() as own_db:
            cart.record_add(db=own_db, session_id=session_id, product_id=milk, score=0.5)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add_one, range(16)))
    with sessions() as fresh:
        assert _quantities(fresh, session_id) == {"Milk": 16}
