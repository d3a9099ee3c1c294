"""Orders: plain functions taking the database session explicitly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ebrcs.auth.models import Role, User
from ebrcs.errors import ErrorCode, NotFound
from ebrcs.orders.models import Order, OrderItem

# Every order body shows product names and admin listings the buyer: load them with the order.
WITH_DETAILS = (
    selectinload(Order.items).joinedload(OrderItem.product),
    joinedload(Order.user),
)


def get(*, db: Session, order_id: uuid.UUID) -> Order | None:
    """The order with its items, products and buyer, or None."""
    return db.scalar(select(Order).where(Order.id == order_id).options(*WITH_DETAILS))


def get_for_session(*, db: Session, session_id: uuid.UUID) -> Order | None:
    """The order a checkout session was confirmed into, or None."""
    query = select(Order).where(Order.session_id == session_id).options(*WITH_DETAILS)
    return db.scalar(query.execution_options(populate_existing=True))


def get_visible(*, db: Session, order_id: uuid.UUID, user: User) -> Order:
    """The order if it is the caller's or the caller is an admin; NotFound otherwise."""
    order = get(db=db, order_id=order_id)
    if order is None or (order.user_id != user.id and user.role != Role.ADMIN):
        raise NotFound("order not found", code=ErrorCode.ORDER_NOT_FOUND)
    return order


def _as_utc(moment: datetime | None) -> datetime | None:
    """A bound given without a zone is read as UTC, the zone every timestamp is stored in."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def find(
    *,
    db: Session,
    limit: int,
    offset: int,
    user_id: uuid.UUID | None = None,
    username: str | None = None,
    session_id: uuid.UUID | None = None,
    confirmed_from: datetime | None = None,
    confirmed_to: datetime | None = None,
) -> tuple[Sequence[Order], int]:
    """One page of orders, newest first, confirmed in ``[from, to)``; and how many match."""
    query: Select[tuple[Order]] = select(Order)
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    if username is not None:
        query = query.join(User, User.id == Order.user_id).where(User.username == username)
    if session_id is not None:
        query = query.where(Order.session_id == session_id)
    if (start := _as_utc(confirmed_from)) is not None:
        query = query.where(Order.confirmed_at >= start)
    if (end := _as_utc(confirmed_to)) is not None:
        query = query.where(Order.confirmed_at < end)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    # The id breaks ties between equal timestamps so pages never overlap or skip.
    page = query.order_by(Order.confirmed_at.desc(), Order.id.desc()).limit(limit).offset(offset)
    return db.scalars(page.options(*WITH_DETAILS)).unique().all(), total
