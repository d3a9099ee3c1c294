"""Request and response bodies of the checkout API, the bill included, and the socket's messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ebrcs.checkout.cart import Cart, CartLine
from ebrcs.checkout.models import SessionStatus
from ebrcs.checkout.unsure import UnsureLine

# Strict: JSON 2.0 or true is not a quantity. Bounds are checked by the cart service, which
# knows the configured maximum and answers with one message for every way to get it wrong.
Quantity = Annotated[int, Field(strict=True)]
MAX_LINES_PER_UPDATE = 1000


class QuantityIn(BaseModel):
    """A product and how many of it."""

    product_id: uuid.UUID
    quantity: Quantity


class BillingUpdateIn(BaseModel):
    """The whole cart as the shopper validated it; products left out are removed."""

    items: list[QuantityIn] = Field(max_length=MAX_LINES_PER_UPDATE)


class SessionCreated(BaseModel):
    """A new checkout session."""

    session_id: uuid.UUID


class CandidateOut(BaseModel):
    """A product an unsure item may be: its name, price, score and first photo."""

    product_id: uuid.UUID
    name: str
    score: float
    unit_price: Decimal
    image_url: str | None


class UnsureItemOut(BaseModel):
    """An item counted but not named: the shopper picks one candidate, searches, or dismisses."""

    id: uuid.UUID
    best_score: float
    created_at: datetime
    crop_url: str | None
    candidates: list[CandidateOut]
    """At most ``top_k``, best first."""

    @classmethod
    def of(cls, session_id: uuid.UUID, line: UnsureLine) -> UnsureItemOut:
        """The body of one open unsure item."""
        return cls(
            id=line.id,
            best_score=line.best_score,
            created_at=line.created_at,
            crop_url=f"/api/sessions/{session_id}/unsure/{line.id}/crop" if line.has_crop else None,
            candidates=[
                CandidateOut(
                    product_id=candidate.product_id,
                    name=candidate.name,
                    score=candidate.score,
                    unit_price=candidate.unit_price,
                    image_url=(
                        f"/api/products/{candidate.product_id}/images/{candidate.image_id}"
                        if candidate.image_id is not None
                        else None
                    ),
                )
                for candidate in line.candidates
            ],
        )


class CartOut(BaseModel):
    """A cart with totals computed on the server (exact decimals).

    ``items`` and the totals are the named, priced lines; ``unsure`` are the items counted
    but not named yet (physical items = ``total_items + len(unsure)``).
    """

    # The cart's own line type: its fields are exactly what the API shows of a line.
    items: list[CartLine]
    total_items: int
    total_amount: Decimal
    unsure: list[UnsureItemOut]

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        """The response body of a loaded cart."""
        return cls(
            items=cart.lines,
            total_items=cart.total_items,
            total_amount=cart.total_amount,
            unsure=[UnsureItemOut.of(cart.session_id, line) for line in cart.unsure],
        )


class ResolveIn(BaseModel):
    """What an unsure item is: one of its candidates or any product found by search."""

    product_id: uuid.UUID


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
    """A counting decision: ADD and REMOVE change a named line, UNSURE counts an item the
    shopper must name (``unsure``) and UNSURE_REMOVED takes one back out, UNRECOGNISED is a
    notice of something that is not a product (nothing counted)."""

    type: Literal["ADD", "REMOVE", "UNSURE", "UNSURE_REMOVED", "UNRECOGNISED"]
    product_id: uuid.UUID | None
    name: str | None
    score: float | None
    unsure: UnsureItemOut | None = None


class FrameReply(BaseModel):
    """The socket's answer to one processed frame."""

    type: Literal["frame"] = "frame"
    frame_id: int
    detections: list[DetectionOut]
    events: list[EventOut]
    cart: CartOut | None
    """The cart after this frame's events; None when it has none (the cart is unchanged),
    except in a connection's first reply, which always carries it."""
    timings_ms: dict[str, float]
    dropped_frames: int
    annotated_jpeg: str | None = None


class ErrorMessage(BaseModel):
    """A problem with one message; the socket stays open."""

    type: Literal["error"] = "error"
    code: str
    message: str
    frame_id: int | None = None
