"""Confirming a checkout: the validated cart becomes a paid order in one transaction."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ebrcs import metrics
from ebrcs.checkout import cart
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.db.base import MAX_MONEY, utcnow
from ebrcs.errors import Conflict, ErrorCode
from ebrcs.orders import service
from ebrcs.orders.models import Order, OrderItem, PaymentStatus

log = logging.getLogger(__name__)


def confirm(*, db: Session, session: CheckoutSession) -> tuple[Order, bool]:
    """Turn the shopper's cart into a mock-paid order and complete the session.

    ``session`` is the caller's own (the route resolved it); it is read again under the lock.

    Returns the order and whether this call created it.

    Idempotent: a repeated or concurrent confirmation of the same session returns the one
    order. The session row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite serialises
    writers at ``BEGIN IMMEDIATE``), so racing confirmations run one after the other and the
    later ones find the order; the unique ``orders.session_id`` is the backstop if they ever
    do not. An expired session can still be confirmed: its cart was kept so the shopper can
    pay for it, but it can no longer be changed (except by naming its unsure items). An empty
    cart, or one with unsure items still open, is a Conflict.
    """
    session_id = session.id
    try:
        db.refresh(session, with_for_update=True)
        existing = service.get_for_session(db=db, session_id=session.id)
        if existing is not None:
            return _loaded(db, existing.id), False
        if session.status == SessionStatus.COMPLETED:
            raise Conflict("checkout session is completed", code=ErrorCode.SESSION_NOT_ACTIVE)
        bill = cart.load(db=db, session_id=session.id)
        if bill.unsure:
            raise Conflict(
                f"{len(bill.unsure)} unsure item(s) on the bill: choose what each one is "
                "or dismiss it before confirming",
                code=ErrorCode.UNSURE_ITEMS_OPEN,
            )
        if not bill.lines:
            raise Conflict(
                "the cart is empty: add items before confirming", code=ErrorCode.CART_EMPTY
            )
        if bill.total_amount > MAX_MONEY:
            # Prices raised after the items were added can take a cart past the limit.
            raise Conflict(
                f"the cart costs {bill.total_amount}, over the most one order can hold "
                f"({MAX_MONEY}): remove items before confirming",
                code=ErrorCode.CART_TOTAL_TOO_LARGE,
            )
        order = Order(
            user_id=session.user_id,
            session_id=session.id,
            total_items=bill.total_items,
            total_amount=bill.total_amount,
            payment_status=PaymentStatus.MOCK_PAID,
            items=[
                OrderItem(
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    avg_score=line.avg_score,
                )
                for line in bill.lines
            ],
        )
        db.add(order)
        session.status = SessionStatus.COMPLETED
        session.last_active = utcnow()
        db.commit()
    except IntegrityError:
        db.rollback()
        existing = service.get_for_session(db=db, session_id=session_id)
        if existing is None:
            raise
        log.info(
            "session %s was confirmed concurrently; returning order %s", session_id, existing.id
        )
        return _loaded(db, existing.id), False
    except BaseException:
        db.rollback()
        raise
    log.info("session %s confirmed as order %s (%s)", session_id, order.id, order.total_amount)
    metrics.CONFIRMS.inc()
    return _loaded(db, order.id), True


def _loaded(db: Session, order_id: uuid.UUID) -> Order:
    """The order with everything its body shows, and the read transaction ended.

    Ending it releases the session row lock (and SQLite's write lock) before the response
    is written and before any background work opens its own transaction.
    """
    order = service.get(db=db, order_id=order_id)
    db.commit()
    return order  # type: ignore[return-value]
