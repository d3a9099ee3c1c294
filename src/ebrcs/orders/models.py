"""Tables of the orders domain."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Float, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ebrcs.db.base import Base, UUIDPrimaryKey, string_enum, utcnow

if TYPE_CHECKING:
    from ebrcs.auth.models import User
    from ebrcs.catalog.models import Product


class PaymentStatus(enum.StrEnum):
    """State of an order's payment; checkout confirms with a mock payment."""

    MOCK_PAID = "mock_paid"
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class Order(UUIDPrimaryKey, Base):
    """A confirmed checkout."""

    __tablename__ = "orders"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="SET NULL"), unique=True
    )
    total_items: Mapped[int]
    total_amount: Mapped[Decimal]
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    payment_status: Mapped[PaymentStatus] = mapped_column(
        string_enum(PaymentStatus, "payment_status"),
        default=PaymentStatus.MOCK_PAID,
    )

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", passive_deletes=True
    )
    user: Mapped[User] = relationship(viewonly=True)

    __table_args__ = (
        CheckConstraint("total_items > 0", name="total_items_positive"),
        CheckConstraint("total_amount >= 0", name="total_amount_non_negative"),
    )


class OrderItem(UUIDPrimaryKey, Base):
    """One product line of an order, with the price it was sold at."""

    __tablename__ = "order_items"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity: Mapped[int]
    avg_score: Mapped[float | None] = mapped_column(Float)
    unit_price: Mapped[Decimal]

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship(viewonly=True)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
    )
