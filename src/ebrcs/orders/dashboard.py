"""The admin dashboard's figures: sales per day, best sellers and recognition health.

Money is summed in Python on ``Decimal`` (SQLite's SUM of a NUMERIC column is a float) and days
are bucketed in Python on the stored UTC timestamps, so both backends give the same answer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ebrcs.catalog.models import Product
from ebrcs.checkout.models import CheckoutSession, EventKind, RecognitionEvent, SessionStatus
from ebrcs.db.base import CENT, utcnow
from ebrcs.orders.models import Order, OrderItem
from ebrcs.orders.schemas import DashboardOut, DaySalesOut, ProductSalesOut

ZERO = Decimal("0.00")


def figures(
    *, db: Session, days: int = 30, top: int = 10, now: datetime | None = None
) -> DashboardOut:
    """Everything the dashboard shows for the last ``days`` UTC days, today included."""
    today = (now or utcnow()).astimezone(UTC).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)
    per_day = _sales_per_day(db, since, [first_day + timedelta(days=n) for n in range(days)])
    best_sellers = _product_sales(db, since)
    events, average_score, unrecognised_share = _recognition_health(db, since)
    return DashboardOut(
        days=days,
        since=since,
        total_orders=sum(day.orders for day in per_day),
        total_amount=sum((day.amount for day in per_day), ZERO),
        per_day=per_day,
        top_by_quantity=sorted(best_sellers, key=lambda p: (-p.quantity, p.name))[:top],
        top_by_revenue=sorted(best_sellers, key=lambda p: (-p.revenue, p.name))[:top],
        recognition_events=events,
        average_recognition_score=average_score,
        unrecognised_share=unrecognised_share,
        active_sessions=db.scalar(
            select(func.count()).where(CheckoutSession.status == SessionStatus.ACTIVE)
        )
        or 0,
    )


def _sales_per_day(db: Session, since: datetime, days: list[date]) -> list[DaySalesOut]:
    """Orders and takings of each day, days without sales included as zero."""
    orders = dict.fromkeys(days, 0)
    amounts = dict.fromkeys(days, ZERO)
    rows = db.execute(
        select(Order.confirmed_at, Order.total_amount).where(Order.confirmed_at >= since)
    )
    for confirmed_at, amount in rows:
        day = confirmed_at.astimezone(UTC).date()
        if day in orders:
            orders[day] += 1
            amounts[day] += amount
    return [DaySalesOut(day=day, orders=orders[day], amount=amounts[day]) for day in days]


def _product_sales(db: Session, since: datetime) -> list[ProductSalesOut]:
    """Quantity and revenue of every product sold since ``since``."""
    # Grouped by price too, so revenue is price x quantity in Decimal, never a float sum.
    rows = db.execute(
        select(
            OrderItem.product_id, Product.name, OrderItem.unit_price, func.sum(OrderItem.quantity)
        )
        .join(Order, Order.id == OrderItem.order_id)
        .join(Product, Product.id == OrderItem.product_id)
        .where(Order.confirmed_at >= since)
        .group_by(OrderItem.product_id, Product.name, OrderItem.unit_price)
    )
    names: dict[uuid.UUID, str] = {}
    quantities: dict[uuid.UUID, int] = defaultdict(int)
    revenues: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    for product_id, name, unit_price, quantity in rows:
        names[product_id] = name
        quantities[product_id] += int(quantity)
        revenues[product_id] += (unit_price * int(quantity)).quantize(CENT)
    return [
        ProductSalesOut(
            product_id=product_id,
            name=name,
            quantity=quantities[product_id],
            revenue=revenues[product_id],
        )
        for product_id, name in names.items()
    ]


def _recognition_health(db: Session, since: datetime) -> tuple[int, float | None, float | None]:
    """How many counting events; the mean score of ADDs; the UNRECOGNISED share of items seen.

    An item passing the counter ends as ADD or UNRECOGNISED (REMOVE re-observes one already
    counted), so the share is UNRECOGNISED / (ADD + UNRECOGNISED).
    """
    kind = RecognitionEvent.kind
    events, added, unrecognised, average = db.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((kind == EventKind.ADD, 1), else_=0)), 0),
            func.coalesce(func.sum(case((kind == EventKind.UNRECOGNISED, 1), else_=0)), 0),
            func.avg(case((kind == EventKind.ADD, RecognitionEvent.score))),
        ).where(RecognitionEvent.created_at >= since)
    ).one()
    seen = int(added) + int(unrecognised)
    share = int(unrecognised) / seen if seen else None
    return int(events), None if average is None else float(average), share
