"""The cart of a checkout session: its billing items, changed by recognition and by the shopper.

Every function that changes the cart locks the session row first and refuses unless the session
is active, so a cart can never change once its session is completed (confirmation takes the same
lock). Each changing function commits its own transaction; a frame's counting decisions are one
transaction together (``record_frame``).

A cart holds named lines (billing items) and unsure items: physical items counted but not yet
named (``ebrcs.checkout.unsure``), which the shopper resolves into a line or dismisses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ebrcs.catalog.models import Product
from ebrcs.checkout import unsure
from ebrcs.checkout.models import (
    BillingItem,
    CheckoutSession,
    EventKind,
    RecognitionEvent,
    SessionStatus,
    UnresolvedItem,
    UnsureStatus,
)
from ebrcs.checkout.service import require_active, touch
from ebrcs.checkout.unsure import Candidate, UnsureLine
from ebrcs.db.base import CENT, MAX_MONEY, utcnow
from ebrcs.errors import Conflict, ErrorCode, InvalidInput, NotFound

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
    unsure: list[UnsureLine] = field(default_factory=list)
    """Items counted but not named yet; they are not priced."""

    @property
    def total_items(self) -> int:
        """How many named items the cart holds."""
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
    """The session's cart with its totals and its open unsure items."""
    return Cart(
        session_id=session_id,
        lines=lines(db=db, session_id=session_id),
        unsure=unsure.open_lines(db=db, session_id=session_id),
    )


@contextmanager
def _changing(
    db: Session, session_id: uuid.UUID, *, unless_completed: bool = False
) -> Iterator[CheckoutSession]:
    """Lock the session row, insist it is active, then commit the change or roll it all back.

    ``unless_completed`` also lets an expired session's cart change (naming its unsure items,
    without which it could never be confirmed).
    """
    try:
        session = db.get(CheckoutSession, session_id, with_for_update=True, populate_existing=True)
        if session is None:
            raise NotFound("checkout session not found", code=ErrorCode.SESSION_NOT_FOUND)
        if unless_completed and session.status == SessionStatus.COMPLETED:
            raise Conflict("checkout session is completed", code=ErrorCode.SESSION_NOT_ACTIVE)
        yield session if unless_completed else require_active(session)
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


@dataclass(frozen=True)
class Counted:
    """A recognised item put down: one more of its product (its ADD is kept as ``event_id``)."""

    product_id: uuid.UUID
    score: float
    event_id: uuid.UUID


@dataclass(frozen=True)
class TakenOut:
    """A counted item taken back out: one fewer of its product."""

    product_id: uuid.UUID
    score: float | None


@dataclass(frozen=True)
class CountedUnsure:
    """A physical item counted but not named: an unsure item waiting for the shopper."""

    item_id: uuid.UUID
    candidates: Sequence[Candidate]
    crop_path: Path | None
    """The crop it was seen in, relative to the data directory."""


@dataclass(frozen=True)
class Withdrawn:
    """An item counted as unsure taken back out: it leaves the bill (or, once the shopper
    named it, one fewer of that product)."""

    item_id: uuid.UUID
    score: float | None


@dataclass(frozen=True)
class Noticed:
    """Something seen that is not counted (not a product); kept for the dashboard only."""

    product_id: uuid.UUID | None
    score: float | None


CartChange = Counted | TakenOut | CountedUnsure | Withdrawn | Noticed


def record_frame(*, db: Session, session_id: uuid.UUID, changes: Sequence[CartChange]) -> Cart:
    """Apply one frame's counting decisions in one transaction; the cart after them."""
    with _changing(db, session_id):
        for change in changes:
            _apply(db, session_id, change)
    return load(db=db, session_id=session_id)


def _apply(db: Session, session_id: uuid.UUID, change: CartChange) -> None:
    """One counting decision into the open transaction."""
    match change:
        case Counted(product_id, score, event_id):
            _add_one(db, session_id, product_id, score, event_id)
        case TakenOut(product_id, score):
            _remove_one(db, session_id, product_id, score)
        case CountedUnsure(item_id, candidates, crop_path):
            unsure.add(
                db=db,
                session_id=session_id,
                item_id=item_id,
                candidates=candidates,
                crop_path=crop_path,
            )
            best = candidates[0] if candidates else None
            guess, score = (best.product_id, best.score) if best else (None, None)
            _noticed(db, session_id, guess, score)
        case Withdrawn(item_id, score):
            _withdraw(db, session_id, item_id, score)
        case Noticed(product_id, score):
            _noticed(db, session_id, product_id, score)


def _withdraw(db: Session, session_id: uuid.UUID, item_id: uuid.UUID, score: float | None) -> None:
    """Take an unsure item back off the bill: open, it is dismissed; named, its line loses one."""
    item = unsure.get(db=db, session_id=session_id, item_id=item_id)
    if item.status == UnsureStatus.RESOLVED and item.resolved_product_id is not None:
        _remove_one(db, session_id, item.resolved_product_id, score)
        return
    if item.status == UnsureStatus.OPEN:
        item.status = UnsureStatus.DISMISSED
        item.resolved_at = utcnow()
    record_event(db=db, session_id=session_id, kind=EventKind.REMOVE, score=score, commit=False)


def _noticed(
    db: Session, session_id: uuid.UUID, product_id: uuid.UUID | None, score: float | None
) -> None:
    """Keep an UNRECOGNISED event (under the best guess, if any) for the dashboard."""
    record_event(
        db=db,
        session_id=session_id,
        kind=EventKind.UNRECOGNISED,
        product_id=product_id,
        score=score,
        commit=False,
    )


def _add_one(
    db: Session,
    session_id: uuid.UUID,
    product_id: uuid.UUID,
    score: float,
    event_id: uuid.UUID | None,
) -> None:
    score = _clamped(score)
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


def _remove_one(
    db: Session, session_id: uuid.UUID, product_id: uuid.UUID, score: float | None
) -> BillingItem | None:
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
    under it (``ebrcs.checkout.crops.save_crop``).
    """
    with _changing(db, session_id):
        _add_one(db, session_id, product_id, score, event_id)
    return _item(db, session_id, product_id, refresh=True)  # type: ignore[return-value]


def record_remove(
    *, db: Session, session_id: uuid.UUID, product_id: uuid.UUID, score: float | None = None
) -> BillingItem | None:
    """Take one item back out (row deleted at 0) and keep its REMOVE event; the line or None."""
    with _changing(db, session_id):
        item = _remove_one(db, session_id, product_id, score)
    return item


def resolve_unsure(
    *,
    db: Session,
    session_id: uuid.UUID,
    item_id: uuid.UUID,
    product_id: uuid.UUID,
    max_quantity: int,
) -> Cart:
    """The shopper says what an unsure item is: one more of that product, in one transaction.

    Kept as an ADD of the product (scored as the candidate it was, 0 if it was none), so
    learning from corrections sees it as counted; its crop is learned as a photo of the
    product (``ebrcs.orders.learning``). Conflict if the item was already resolved or dismissed.
    """
    with _changing(db, session_id, unless_completed=True):
        item = _open_unsure(db, session_id, item_id)
        _sellable(db, {product_id})
        held = db.scalar(
            select(BillingItem.quantity).where(
                BillingItem.session_id == session_id, BillingItem.product_id == product_id
            )
        )
        _check_quantity((held or 0) + 1, max_quantity)
        scores = {uuid.UUID(c["product_id"]): float(c["score"]) for c in item.candidates}
        _add_one(db, session_id, product_id, scores.get(product_id, UNSCORED), item.id)
        item.status = UnsureStatus.RESOLVED
        item.resolved_product_id = product_id
        item.resolved_at = utcnow()
    return load(db=db, session_id=session_id)


def dismiss_unsure(*, db: Session, session_id: uuid.UUID, item_id: uuid.UUID) -> Cart:
    """The shopper says an unsure item is not to be paid for: it leaves the bill."""
    with _changing(db, session_id, unless_completed=True):
        item = _open_unsure(db, session_id, item_id)
        item.status = UnsureStatus.DISMISSED
        item.resolved_at = utcnow()
    return load(db=db, session_id=session_id)


def _open_unsure(db: Session, session_id: uuid.UUID, item_id: uuid.UUID) -> UnresolvedItem:
    """The session's unsure item while it is open; NotFound or Conflict otherwise."""
    item = unsure.get(db=db, session_id=session_id, item_id=item_id)
    if item.status != UnsureStatus.OPEN:
        raise Conflict(
            f"unsure item is already {item.status.value}", code=ErrorCode.UNSURE_ITEM_CLOSED
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
