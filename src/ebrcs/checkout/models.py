"""Tables of the checkout domain."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ebrcs.db.base import Base, UUIDPrimaryKey, string_enum, utcnow


class SessionStatus(enum.StrEnum):
    """Where a checkout session is in its life."""

    ACTIVE = "active"
    COMPLETED = "completed"
    EXPIRED = "expired"


class EventKind(enum.StrEnum):
    """What the counting step decided about a tracked item."""

    ADD = "ADD"
    REMOVE = "REMOVE"
    UNRECOGNISED = "UNRECOGNISED"


class CheckoutSession(UUIDPrimaryKey, Base):
    """One customer's checkout at a counter."""

    __tablename__ = "checkout_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[SessionStatus] = mapped_column(
        string_enum(SessionStatus, "session_status"),
        default=SessionStatus.ACTIVE,
        index=True,
    )
    session_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    items: Mapped[list[BillingItem]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )


class BillingItem(UUIDPrimaryKey, Base):
    """One product line of a live cart."""

    __tablename__ = "billing_items"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity: Mapped[int]
    avg_score: Mapped[float] = mapped_column(Float, default=0.0)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session: Mapped[CheckoutSession] = relationship(back_populates="items")

    __table_args__ = (
        UniqueConstraint("session_id", "product_id", name="uq_billing_items_session_product"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("avg_score >= 0 AND avg_score <= 1", name="avg_score_range"),
    )


class RecognitionEvent(UUIDPrimaryKey, Base):
    """A counting decision, kept for the dashboard's recognition health figures."""

    __tablename__ = "recognition_events"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind, "event_kind"))
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class UnsureStatus(enum.StrEnum):
    """Where an unsure item is: waiting for the shopper, named by them, or dismissed."""

    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class UnresolvedItem(UUIDPrimaryKey, Base):
    """A physical item that was counted but not confidently named: the shopper says what it is.

    ``candidates`` holds the recognition's top products, best first, as
    ``[{"product_id": str, "score": float}, ...]``; ``crop_path`` the crop it was seen in,
    relative to the data directory (None if none could be kept).
    """

    __tablename__ = "unresolved_items"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("checkout_sessions.id", ondelete="CASCADE"), index=True
    )
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    best_score: Mapped[float] = mapped_column(Float)
    crop_path: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[UnsureStatus] = mapped_column(
        string_enum(UnsureStatus, "unsure_status"), default=UnsureStatus.OPEN
    )
    resolved_product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
