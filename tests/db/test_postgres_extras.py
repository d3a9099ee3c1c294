"""PostgreSQL-only views and the session cleanup function."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ebrcs.auth.models import User
from ebrcs.catalog.models import Product
from ebrcs.checkout.models import BillingItem, CheckoutSession, SessionStatus
from ebrcs.db.base import utcnow
from ebrcs.orders.models import Order, OrderItem

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def pg(db: Session) -> Session:
    """A session on PostgreSQL (these objects exist only there)."""
    return db


def _shopper_with_cart(db: Session, *, idle_for: timedelta) -> tuple[User, CheckoutSession]:
    user = User(username=f"s{uuid.uuid4().hex[:8]}", password_hash="x")
    product = Product(name="Banana", price=Decimal("0.25"))
    session = CheckoutSession(user_id=user.id, last_active=utcnow() - idle_for)
    db.add_all([user, product])
    db.flush()
    session.user_id = user.id
    db.add(session)
    db.flush()
    db.add(BillingItem(session_id=session.id, product_id=product.id, quantity=3, avg_score=0.8))
    db.commit()
    return user, session


def test_cleanup_expires_only_sessions_idle_longer_than_asked(pg: Session) -> None:
    _, stale = _shopper_with_cart(pg, idle_for=timedelta(hours=30))
    _, fresh = _shopper_with_cart(pg, idle_for=timedelta(minutes=5))
    expired = pg.scalar(text("SELECT cleanup_expired_sessions(24)"))
    pg.commit()
    assert expired == 1
    statuses = dict(pg.execute(select(CheckoutSession.id, CheckoutSession.status)).all())
    assert statuses == {stale.id: SessionStatus.EXPIRED, fresh.id: SessionStatus.ACTIVE}
    assert pg.scalar(select(BillingItem.quantity).where(BillingItem.session_id == stale.id)) == 3


def test_active_sessions_view_sums_each_cart(pg: Session) -> None:
    user, session = _shopper_with_cart(pg, idle_for=timedelta(minutes=1))
    row = pg.execute(text("SELECT session_id, username, total_items FROM v_active_sessions")).one()
    assert (row.session_id, row.username, row.total_items) == (session.id, user.username, 3)


def test_order_history_view_lists_lines_with_totals(pg: Session) -> None:
    user, session = _shopper_with_cart(pg, idle_for=timedelta(minutes=1))
    product_id = pg.scalar(select(BillingItem.product_id))
    order = Order(
        user_id=user.id, session_id=session.id, total_items=3, total_amount=Decimal("0.75")
    )
    pg.add(order)
    pg.flush()
    pg.add(
        OrderItem(order_id=order.id, product_id=product_id, quantity=3, unit_price=Decimal("0.25"))
    )
    pg.commit()
    row = pg.execute(text("SELECT product_name, quantity, line_total FROM v_order_history")).one()
    assert (row.product_name, row.quantity, row.line_total) == ("Banana", 3, Decimal("0.75"))
