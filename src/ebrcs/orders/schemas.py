"""Response bodies of confirmation, orders and the admin dashboard."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from ebrcs.orders.models import Order, PaymentStatus


class OrderItemOut(BaseModel):
    """One line of an order at the price it was sold for."""

    product_id: uuid.UUID
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    avg_score: float | None


class OrderOut(BaseModel):
    """A confirmed order; money as decimal strings."""

    id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    confirmed_at: datetime
    total_items: int
    total_amount: Decimal
    payment_status: PaymentStatus
    items: list[OrderItemOut]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        """The response body of an order with its items and their products loaded."""
        return cls(**_order_fields(order))


class AdminOrderOut(OrderOut):
    """An order as admins list it: with the buyer's name."""

    username: str

    @classmethod
    def of(cls, order: Order) -> AdminOrderOut:
        """The response body of an order with its user, items and products loaded."""
        return cls(**_order_fields(order), username=order.user.username)


class ConfirmedOut(OrderOut):
    """The order a confirmation produced (the same one however often it is repeated)."""

    order_id: uuid.UUID

    @classmethod
    def of(cls, order: Order) -> ConfirmedOut:
        """The response body of a confirmed order."""
        return cls(**_order_fields(order), order_id=order.id)


def _order_fields(order: Order) -> dict[str, object]:
    """The fields every order body shares."""
    items = sorted(order.items, key=lambda item: item.product.name)
    return {
        "id": order.id,
        "user_id": order.user_id,
        "session_id": order.session_id,
        "confirmed_at": order.confirmed_at,
        "total_items": order.total_items,
        "total_amount": order.total_amount,
        "payment_status": order.payment_status,
        "items": [
            OrderItemOut(
                product_id=item.product_id,
                name=item.product.name,
                quantity=item.quantity,
                unit_price=item.unit_price,
                line_total=item.unit_price * item.quantity,
                avg_score=item.avg_score,
            )
            for item in items
        ],
    }


class OrderPage(BaseModel):
    """One page of orders, newest first, and how many there are in all."""

    orders: list[OrderOut]
    total: int
    limit: int
    offset: int


class AdminOrderPage(BaseModel):
    """One page of every user's orders, newest first."""

    orders: list[AdminOrderOut]
    total: int
    limit: int
    offset: int


class DaySalesOut(BaseModel):
    """Sales of one UTC day."""

    day: date
    orders: int
    amount: Decimal


class ProductSalesOut(BaseModel):
    """What one product sold over the dashboard's period."""

    product_id: uuid.UUID
    name: str
    quantity: int
    revenue: Decimal


class DashboardOut(BaseModel):
    """The admin's figures for the last ``days`` days (UTC), every day listed."""

    days: int
    since: datetime
    total_orders: int
    total_amount: Decimal
    per_day: list[DaySalesOut]
    top_by_quantity: list[ProductSalesOut]
    top_by_revenue: list[ProductSalesOut]
    recognition_events: int
    average_recognition_score: float | None
    unrecognised_share: float | None
    active_sessions: int
