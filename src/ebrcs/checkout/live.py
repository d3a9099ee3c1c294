"""One session's live counting: its pipeline, the newest unprocessed frame, and the cart it feeds.

``LiveCheckout`` is used from worker threads only (pipeline and database work block);
``LatestFrameSlot`` and ``LiveCheckouts`` belong to the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import service as catalog
from ebrcs.checkout import cart
from ebrcs.checkout.models import CheckoutSession, EventKind, SessionStatus
from ebrcs.checkout.pipeline import CheckoutPipeline, FrameResult, PipelineConfig
from ebrcs.checkout.pipeline.annotate import annotate
from ebrcs.checkout.schemas import CartOut, DetectionOut, EventOut
from ebrcs.checkout.service import Roi
from ebrcs.config import Settings
from ebrcs.db.base import utcnow
from ebrcs.errors import Conflict
from ebrcs.imaging import decode_frame
from ebrcs.orders import learning
from ebrcs.runtime import Runtime

log = logging.getLogger(__name__)

# Writing last_active on every frame would cost a commit per frame; this often is enough for
# a TTL counted in minutes.
TOUCH_EVERY_SECONDS = 30.0


class FramePipeline(Protocol):
    """The frame pipeline as this module uses it (``ebrcs.checkout.pipeline``)."""

    @property
    def roi(self) -> Roi | None:
        """The counting zone (None: the whole frame)."""
        ...

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> FrameResult:
        """Detect, track, recognise and count one frame."""
        ...

    def set_roi(self, roi: Roi | None) -> None:
        """Change the counting zone (None: the whole frame)."""
        ...


@dataclass(frozen=True)
class FrameOutcome:
    """What one processed frame changed and showed."""

    detections: list[DetectionOut]
    events: list[EventOut]
    cart: CartOut
    timings_ms: dict[str, float]
    annotated_jpeg: str | None


class LiveCheckout:
    """Counts items of one session from its frames into its cart, event by event.

    Not thread-safe: one worker thread at a time calls ``process_*`` (the socket's processor
    awaits each frame; a video task runs in one thread). ``request_roi`` may come from any
    thread; it takes effect at the next frame.
    """

    def __init__(
        self,
        *,
        session_id: uuid.UUID,
        pipeline: FramePipeline,
        db_sessions: sessionmaker[Session],
        settings: Settings,
    ) -> None:
        self.session_id = session_id
        self.pipeline = pipeline
        self.db_sessions = db_sessions
        self.settings = settings
        self._names: dict[uuid.UUID, str] = {}
        self._pending_roi: tuple[Roi | None] | None = None
        self._last_touch = 0.0

    def request_roi(self, roi: Roi | None) -> None:
        """Change the counting zone before the next frame."""
        self._pending_roi = (roi,)

    def process_jpeg(self, data: bytes, timestamp: float, *, annotate: bool) -> FrameOutcome:
        """Decode and count one JPEG frame; the frame gate's InvalidInput or PayloadTooLarge."""
        started = time.perf_counter()
        frame = decode_frame(
            data,
            max_bytes=self.settings.max_frame_bytes,
            max_pixels=self.settings.max_frame_pixels,
        )
        decode_ms = (time.perf_counter() - started) * 1000.0
        return self.process_frame(frame, timestamp, annotate=annotate, decode_ms=decode_ms)

    def process_frame(
        self, frame_bgr: np.ndarray, timestamp: float, *, annotate: bool, decode_ms: float = 0.0
    ) -> FrameOutcome:
        """Count one decoded frame: pipeline, then every event into the cart in the same step.

        Raises Conflict when the session stopped being active (ended, expired, confirmed).
        """
        started = time.perf_counter()
        if self._pending_roi is not None:
            (roi,) = self._pending_roi
            self._pending_roi = None
            self.pipeline.set_roi(roi)
        result = self.pipeline.process(frame_bgr, timestamp)
        with self.db_sessions() as db:
            for event in result.events:
                self._record(db, event)
            self._touch(db)
            names = self._names_of(db, _product_ids(result))
            current_cart = CartOut.of(cart.load(db=db, session_id=self.session_id))
        timings = {name: float(value) for name, value in result.timings_ms.items()}
        timings["decode"] = decode_ms
        timings["total"] = decode_ms + (time.perf_counter() - started) * 1000.0
        return FrameOutcome(
            detections=[_detection_out(item, names) for item in result.detections],
            events=[_event_out(event, names) for event in result.events],
            cart=current_cart,
            timings_ms=timings,
            annotated_jpeg=self._annotated(frame_bgr, result) if annotate else None,
        )

    def _record(self, db: Session, event: Any) -> None:
        """Write one counting decision to the cart (ADD/REMOVE) or the event log.

        An ADD's crop is kept under the event's id (while learning from corrections is on),
        so a confirmed correction can teach the index what the item really was.
        """
        kind = EventKind(event.kind)
        if kind == EventKind.ADD:
            event_id = uuid.uuid4()
            cart.record_add(
                db=db,
                session_id=self.session_id,
                product_id=event.product_id,
                score=event.score,
                event_id=event_id,
            )
            if event.crop_rgb is not None:
                self._keep_crop(event_id, event.crop_rgb)
        elif kind == EventKind.REMOVE:
            cart.record_remove(
                db=db, session_id=self.session_id, product_id=event.product_id, score=event.score
            )
        else:
            cart.record_event(
                db=db,
                session_id=self.session_id,
                kind=kind,
                product_id=event.product_id,
                score=event.score,
            )

    def _keep_crop(self, event_id: uuid.UUID, crop_rgb: np.ndarray) -> None:
        """Keep an ADD's crop for learning; a crop that cannot be written must not stop counting."""
        try:
            learning.save_crop(
                settings=self.settings,
                session_id=self.session_id,
                event_id=event_id,
                crop_rgb=crop_rgb,
            )
        except OSError:
            log.warning("crop of event %s could not be kept", event_id, exc_info=True)

    def _touch(self, db: Session) -> None:
        """Keep a streaming session from idling out; Conflict once it is no longer active."""
        now = time.monotonic()
        if now - self._last_touch < TOUCH_EVERY_SECONDS:
            return
        result = db.execute(
            update(CheckoutSession)
            .where(
                CheckoutSession.id == self.session_id,
                CheckoutSession.status == SessionStatus.ACTIVE,
            )
            .values(last_active=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.commit()
        if not result.rowcount:
            raise Conflict("checkout session is no longer active")
        self._last_touch = now

    def _names_of(self, db: Session, product_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        """Product names, from the per-session cache or the database."""
        missing = product_ids - self._names.keys()
        if missing:
            self._names.update(catalog.names(db=db, product_ids=list(missing)))
        return self._names

    def _annotated(self, frame_bgr: np.ndarray, result: FrameResult) -> str | None:
        """The frame with the zone and boxes drawn, as base64 JPEG."""
        drawn = annotate(frame_bgr, result, names=self._names, roi=self.pipeline.roi)
        ok, encoded = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return base64.b64encode(encoded.tobytes()).decode("ascii") if ok else None


def _product_ids(result: Any) -> set[uuid.UUID]:
    items: Sequence[Any] = [*result.detections, *result.events]
    return {item.product_id for item in items if item.product_id is not None}


def _score(value: Any) -> float | None:
    return None if value is None else float(value)


def _detection_out(detection: Any, names: dict[uuid.UUID, str]) -> DetectionOut:
    product_id = detection.product_id
    track_id = detection.track_id
    return DetectionOut(
        box=[float(value) for value in detection.box],
        track_id=None if track_id is None else int(track_id),
        product_id=product_id,
        name=names.get(product_id) if product_id else None,
        score=_score(detection.score),
    )


def _event_out(event: Any, names: dict[uuid.UUID, str]) -> EventOut:
    product_id = event.product_id
    return EventOut(
        type=EventKind(event.kind),
        product_id=product_id,
        name=names.get(product_id) if product_id else None,
        score=_score(event.score),
    )


@dataclass(frozen=True)
class ReceivedFrame:
    """A frame as it came off the socket, not yet decoded."""

    frame_id: int
    data: bytes
    received_at: float


class LatestFrameSlot:
    """A one-frame buffer: a newer frame replaces the unprocessed one, which counts as dropped.

    This is the socket's back-pressure: a slow server skips stale frames instead of queueing
    them, so memory stays bounded and replies describe the newest picture.
    """

    def __init__(self) -> None:
        self._frame: ReceivedFrame | None = None
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, frame: ReceivedFrame) -> None:
        """Offer the newest frame, dropping the one still waiting."""
        if self._frame is not None:
            self.dropped += 1
        self._frame = frame
        self._ready.set()

    async def take(self) -> ReceivedFrame:
        """Wait for a frame and take it out of the slot."""
        await self._ready.wait()
        self._ready.clear()
        frame, self._frame = self._frame, None
        assert frame is not None  # the event is set only together with a frame
        return frame


@dataclass
class LiveConnection:
    """A socket serving a session in this process, and how to ask it to close."""

    checkout: LiveCheckout
    loop: asyncio.AbstractEventLoop
    closing: asyncio.Future[tuple[int, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.closing = self.loop.create_future()

    def request_close(self, code: int, reason: str) -> None:
        """Ask the socket to close; safe from any thread."""
        self.loop.call_soon_threadsafe(self._close, code, reason)

    def _close(self, code: int, reason: str) -> None:
        if not self.closing.done():
            self.closing.set_result((code, reason))


class LiveCheckouts:
    """The sockets this process serves, one per session, so ROI changes and ends reach them.

    Per process: a socket on another worker sees an ROI change when it reconnects.
    """

    def __init__(self) -> None:
        self._by_session: dict[uuid.UUID, LiveConnection] = {}

    def attach(self, session_id: uuid.UUID, connection: LiveConnection) -> LiveConnection | None:
        """Register the session's socket; the one it replaces, if any."""
        replaced = self._by_session.get(session_id)
        self._by_session[session_id] = connection
        return replaced

    def detach(self, session_id: uuid.UUID, connection: LiveConnection) -> None:
        """Forget the socket, unless a newer one already replaced it."""
        if self._by_session.get(session_id) is connection:
            del self._by_session[session_id]

    def get(self, session_id: uuid.UUID) -> LiveConnection | None:
        """The session's socket in this process, if any."""
        return self._by_session.get(session_id)


def open_live_checkout(runtime: Runtime, session_id: uuid.UUID, roi: Roi | None) -> LiveCheckout:
    """A fresh pipeline for the session, recognising against the runtime's product index."""
    pipeline = CheckoutPipeline(
        runtime.recogniser, PipelineConfig.from_settings(runtime.settings), roi
    )
    return LiveCheckout(
        session_id=session_id,
        pipeline=pipeline,
        db_sessions=runtime.sessions,
        settings=runtime.settings,
    )
