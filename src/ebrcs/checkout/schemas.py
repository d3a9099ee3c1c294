"""Request and response bodies of the checkout API and the live socket's messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from ebrcs.checkout.cart import Cart, CartLine
from ebrcs.checkout.models import EventKind, SessionStatus


class SessionCreated(BaseModel):
    """A new checkout session."""

    session_id: uuid.UUID


class CartOut(BaseModel):
    """A cart with totals computed on the server (exact decimals)."""

    # The cart's own line type: its fields are exactly what the API shows of a line.
    items: list[CartLine]
    total_items: int
    total_amount: Decimal

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        """The response body of a loaded cart."""
        return cls(
            items=cart.lines,
            total_items=cart.total_items,
            total_amount=cart.total_amount,
        )


class SessionOut(BaseModel):
    """A checkout session with its ROI and cart."""

    session_id: uuid.UUID
    status: SessionStatus
    created_at: datetime
    last_active: datetime
    roi: list[tuple[float, float]] | None
    cart: CartOut


class SessionSummary(BaseModel):
    """A checkout session in a listing."""

    session_id: uuid.UUID
    status: SessionStatus
    created_at: datetime
    last_active: datetime


class RoiIn(BaseModel):
    """A region of interest: polygon points as fractions of the frame width and height."""

    # The service checks the exact bounds; this only keeps absurd bodies out early.
    points: list[list[float]] = Field(min_length=1, max_length=1000)


class RoiOut(BaseModel):
    """The session's ROI after a change (None: the whole frame)."""

    roi: list[tuple[float, float]] | None


class VideoTaskCreated(BaseModel):
    """A video accepted for background processing."""

    task_id: uuid.UUID


class DetectionOut(BaseModel):
    """A tracked item in a frame; ``box`` is ``[x1, y1, x2, y2]`` in pixels."""

    box: list[float]
    track_id: int | None
    product_id: uuid.UUID | None
    name: str | None
    score: float | None


class EventOut(BaseModel):
    """A counting decision."""

    type: EventKind
    product_id: uuid.UUID | None
    name: str | None
    score: float | None


class FrameReply(BaseModel):
    """The socket's answer to one processed frame."""

    type: Literal["frame"] = "frame"
    frame_id: int
    detections: list[DetectionOut]
    events: list[EventOut]
    cart: CartOut
    timings_ms: dict[str, float]
    dropped_frames: int
    annotated_jpeg: str | None = None


class ErrorMessage(BaseModel):
    """A problem with one message; the socket stays open."""

    type: Literal["error"] = "error"
    code: str
    message: str
    frame_id: int | None = None
