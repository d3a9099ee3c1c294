"""The cart of a checkout session: its billing items, changed by recognition and by the shopper.

Every function that changes the cart locks the session row first and refuses unless the session
is active, so a cart can never change once its session is completed (confirmation takes the same
lock). Each changing function commits its own transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ebrcs.catalog.models import Product
from ebrcs.checkout.models import BillingItem, CheckoutSession, EventKind, RecognitionEvent
from ebrcs.checkout.service import require_active, touch
from ebrcs.db.base import CENT, MAX_MONEY, utcnow
from ebrcs.errors import ErrorCode, InvalidInput, NotFound

UNSCORED = 0.0
"""The ``avg_score`` of a line the shopper entered by hand: no recognition vouches for it."""


@dataclass(frozen=True)
class CartLine:
    """One product line of a cart, priced at the catalogue's current price."""

    product_id: uuid.UUID
    name: str
    quantity: int
    avg_score: float
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class Cart:
    """The lines of one session's cart and their totals."""

    session_id: uuid.UUID
    lines: list[CartLine]

    @property
    def total_items(self) -> int:
        """How many items the cart holds."""
        return sum(line.quantity for line in self.lines)

    @property
    def total_amount(self) -> Decimal:
        """What the cart costs, exact to the cent."""
        return sum((line.line_total for line in self.lines), Decimal("0.00")).quantize(CENT)


def lines(*, db: Session, session_id: uuid.UUID) -> list[CartLine]:
    """The cart's lines in the order the products were first added."""
    rows = db.execute(
        select(BillingItem, Product)
        .join(Product, Product.id == BillingItem.product_id)
        .where(BillingItem.session_id == session_id)
        .order_by(BillingItem.added_at, Product.name)
    )
    return [
        CartLine(
            product_id=product.id,
            name=product.name,
            quantity=item.quantity,
            avg_score=item.avg_score,
            unit_price=product.price.quantize(CENT),
            line_total=(product.price * item.quantity).quantize(CENT),
        )
        for item, product in rows
    ]


def load(*, db: Session, session_id: uuid.UUID) -> Cart:
    """The session's cart with its totals."""
    return Cart(session_id=session_id, lines=lines(db=db, session_id=session_id))


@contextmanager
def _changing(db: Session, session_id: uuid.UUID) -> Iterator[CheckoutSession]:
    """Lock the session row, insist it is active, then commit the change or roll it all back."""
    try:
        session = db.get(CheckoutSession, session_id, with_for_update=True, populate_existing=True)
        if session is None:
            raise NotFound("checkout session not found", code=ErrorCode.SESSION_NOT_FOUND)
        yield require_active(session)
        _check_total(db, session_id)
        touch(session)
        db.commit()
    except BaseException:
        db.rollback()
        raise


def _check_total(db: Session, session_id: uuid.UUID) -> None:
    """Refuse a change that would take the cart past what an order total can hold."""
    total = Cart(session_id=session_id, lines=lines(db=db, session_id=session_id)).total_amount
    if total > MAX_MONEY:
        raise InvalidInput(
            f"the cart would cost {total}, over the most one order can hold ({MAX_MONEY})",
            code=ErrorCode.CART_TOTAL_TOO_LARGE,
        )


def _clamped(score: float) -> float:
    """A similarity as a stored score: rounding can push cosines past 1, and below 0 is no match."""
    return min(max(float(score), 0.0), 1.0)


def record_event(
    *,
    db: Session,
    session_id: uuid.UUID,
    kind: EventKind,
    product_id: uuid.UUID | None = None,
    score: float | None = None,
    event_id: uuid.UUID | None = None,
    commit: bool = True,
) -> RecognitionEvent:
    """Keep one counting decision for the dashboard (``record_add``/``record_remove`` call it)."""
    event = RecognitionEvent(
        id=event_id or uuid.uuid4(),
        session_id=session_id,
        kind=kind,
        product_id=product_id,
        score=None if score is None else _clamped(score),
    )
    db.add(event)
    if commit:
        db.commit()
    return event


def _upsert_one(db: Session, session_id: uuid.UUID, product_id: uuid.UUID, score: float) -> None:
    """Count one more item of a product; the row is created or updated in one statement."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = BillingItem.__table__
    now = utcnow()
    statement = insert(table).values(
        id=uuid.uuid4(),
        session_id=session_id,
        product_id=product_id,
        quantity=1,
        avg_score=score,
        added_at=now,
        updated_at=now,
    )
    # The running mean over the counted items, each weighing the same; float rounding must
    # not push a mean of scores <= 1 past the column's CHECK.
    mean = (table.c.avg_score * table.c.quantity + score) / (table.c.quantity + 1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.session_id, table.c.product_id],
        set_={
            "quantity": table.c.quantity + 1,
            "avg_score": case((mean > 1.0, 1.0), else_=mean),
            "updated_at": now,
        },
    )
    db.execute(statement)


def record_add(
    *,
    db: Session,
    session_id: uuid.UUID,
    product_id: uuid.UUID,
    score: float,
    event_id: uuid.UUID | None = None,
) -> BillingItem:
    """Count one recognised item (quantity + 1, running mean score) and keep its ADD event.

    ``event_id`` lets the caller name the event in advance, e.g. to keep the item's crop
    under it (``ebrcs.orders.learning.save_crop``).
    """
    score = _clamped(score)
    with _changing(db, session_id):
        _upsert_one(db, session_id, product_id, score)
        record_event(
            db=db,
            session_id=session_id,
            kind=EventKind.ADD,
            product_id=product_id,
            score=score,
            event_id=event_id,
            commit=False,
        )
    return _item(db, session_id, product_id, refresh=True)  # type: ignore[return-value]


def record_remove(
    *, db: Session, session_id: uuid.UUID, product_id: uuid.UUID, score: float | None = None
) -> BillingItem | None:
    """Take one item back out (row deleted at 0) and keep its REMOVE event; the line or None."""
    with _changing(db, session_id):
        item = _item(db, session_id, product_id, refresh=True)
        if item is not None:
            if item.quantity > 1:
                item.quantity -= 1
            else:
                db.delete(item)
                item = None
        record_event(
            db=db,
            session_id=session_id,
            kind=EventKind.REMOVE,
            product_id=product_id,
            score=score,
            commit=False,
        )
    return item


def _item(
    db: Session, session_id: uuid.UUID, product_id: uuid.UUID, *, refresh: bool = False
) -> BillingItem | None:
    """The session's line for a product, or None."""
    query = select(BillingItem).where(
        BillingItem.session_id == session_id, BillingItem.product_id == product_id
    )
    return db.scalar(query.execution_options(populate_existing=refresh))


def _sellable(db: Session, product_ids: set[uuid.UUID]) -> None:
    """Nothing, if every product exists and is on sale; InvalidInput naming the others."""
    if not product_ids:
        return
    rows = db.execute(select(Product.id, Product.is_active).where(Product.id.in_(product_ids)))
    found = {product_id: is_active for product_id, is_active in rows}
    unknown = sorted(str(product_id) for product_id in product_ids - found.keys())
    inactive = sorted(str(product_id) for product_id, active in found.items() if not active)
    if unknown:
        raise InvalidInput(
            f"unknown products: {', '.join(unknown)}", code=ErrorCode.UNKNOWN_PRODUCTS
        )
    if inactive:
        raise InvalidInput(
            f"products no longer sold: {', '.join(inactive)}", code=ErrorCode.PRODUCTS_NOT_SOLD
        )


def _check_quantity(quantity: int, max_quantity: int) -> None:
    """Nothing, if 0 <= quantity <= max_quantity; InvalidInput otherwise."""
    if not 0 <= quantity <= max_quantity:
        raise InvalidInput(
            f"quantity must be between 0 and {max_quantity}, got {quantity}",
            code=ErrorCode.QUANTITY_OUT_OF_RANGE,
        )


def _entered_by_hand(session_id: uuid.UUID, product_id: uuid.UUID, quantity: int) -> BillingItem:
    """A new line the shopper entered, not vouched for by recognition."""
    return BillingItem(
        session_id=session_id, product_id=product_id, quantity=quantity, avg_score=UNSCORED
    )


def set_quantities(
    *,
    db: Session,
    session_id: uuid.UUID,
    quantities: Iterable[tuple[uuid.UUID, int]],
    max_quantity: int,
) -> Cart:
    """Set the cart to exactly these ``(product_id, quantity)`` (0 removes), all or nothing."""
    wanted: dict[uuid.UUID, int] = {}
    for product_id, quantity in quantities:
        _check_quantity(quantity, max_quantity)
        if product_id in wanted:
            raise InvalidInput(
                f"product {product_id} is listed twice", code=ErrorCode.PRODUCT_LISTED_TWICE
            )
        wanted[product_id] = quantity
    wanted = {product_id: quantity for product_id, quantity in wanted.items() if quantity}
    with _changing(db, session_id):
        _sellable(db, set(wanted))
        current = db.scalars(
            select(BillingItem)
            .where(BillingItem.session_id == session_id)
            .execution_options(populate_existing=True)
        )
        for item in list(current):
            quantity = wanted.pop(item.product_id, 0)
            if quantity:
                item.quantity = quantity
            else:
                db.delete(item)
        for product_id, quantity in wanted.items():
            db.add(_entered_by_hand(session_id, product_id, quantity))
    return load(db=db, session_id=session_id)


def add_items(
    *,
    db: Session,
    session_id: uuid.UUID,
    product_id: uuid.UUID,
    quantity: int,
    max_quantity: int,
) -> Cart:
    """Add items the shopper entered by hand (a missed recognition) to the cart."""
    if quantity < 1:
        raise InvalidInput(
            "quantity to add must be at least 1", code=ErrorCode.QUANTITY_OUT_OF_RANGE
        )
    _check_quantity(quantity, max_quantity)
    with _changing(db, session_id):
        _sellable(db, {product_id})
        item = _item(db, session_id, product_id, refresh=True)
        if item is None:
            db.add(_entered_by_hand(session_id, product_id, quantity))
        else:
            _check_quantity(item.quantity + quantity, max_quantity)
            item.quantity += quantity
    return load(db=db, session_id=session_id)
