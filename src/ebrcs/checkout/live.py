"""One session's live counting: its pipeline and the cart it feeds.

``LiveCheckout`` is used from worker threads only (pipeline and database work block); the
socket's event-loop side (frame slot, registry of live sockets) is ``ebrcs.checkout.websocket``.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from ebrcs import metrics
from ebrcs.catalog import service as catalog
from ebrcs.catalog.index import RAW_SPACE, ProductIndex
from ebrcs.checkout import cart, crops, service, unsure
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CheckoutPipeline, CountEvent, FrameResult, PipelineConfig
from ebrcs.checkout.pipeline.annotate import annotate
from ebrcs.checkout.schemas import CartOut, DetectionOut, EventOut, UnsureItemOut
from ebrcs.checkout.service import Roi
from ebrcs.config import Settings
from ebrcs.imaging import decode_frame
from ebrcs.recognition.recogniser import Recogniser

log = logging.getLogger(__name__)

# Writing last_active on every frame would cost a commit per frame; this often is enough for
# a TTL counted in minutes.
TOUCH_EVERY_SECONDS = 30.0
OUTCOMES: dict[type, str] = {
    cart.Counted: "named",
    cart.CountedUnsure: "unsure",
    cart.Noticed: "not_a_product",
}
"""The recognition outcome each kind of cart change records in the metrics."""


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
    cart: CartOut | None
    """None when the frame changed nothing (see ``LiveCheckout.process_frame``)."""
    timings_ms: dict[str, float]
    annotated_jpeg: str | None


class LiveCheckout:
    """Counts items of one session from its frames into its cart, one transaction per frame.

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
        self._unsure_items: dict[int, uuid.UUID] = {}
        """The unsure item each track's UNRECOGNISED event counted, by that track's id."""
        self._pending_roi: tuple[Roi | None] | None = None
        self._last_touch = 0.0
        self._cart_sent = False

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
        """Count one decoded frame: the pipeline, then its events into the cart together.

        A frame without events reads nothing back (its ``cart`` is None), except the first,
        which carries the cart. Raises Conflict when the session stopped being active.
        """
        started = time.perf_counter()
        if self._pending_roi is not None:
            (roi,) = self._pending_roi
            self._pending_roi = None
            self.pipeline.set_roi(roi)
        result = self.pipeline.process(frame_bgr, timestamp)
        changes = [self._change(event) for event in result.events]
        current: cart.Cart | None = None
        with self.db_sessions() as db:
            if changes:
                current = cart.record_frame(db=db, session_id=self.session_id, changes=changes)
                self._last_touch = time.monotonic()
            else:
                self._keep_alive(db)
                if not self._cart_sent:
                    current = cart.load(db=db, session_id=self.session_id)
            names = self._names_of(db, _product_ids(result))
        cart_out = None if current is None else CartOut.of(current)
        self._cart_sent = self._cart_sent or cart_out is not None
        unsure_out = {item.id: item for item in cart_out.unsure} if cart_out else {}
        timings = {name: float(value) for name, value in result.timings_ms.items()}
        timings["decode"] = decode_ms
        timings["total"] = decode_ms + (time.perf_counter() - started) * 1000.0
        metrics.observe_frame(timings, [OUTCOMES[type(c)] for c in changes if type(c) in OUTCOMES])
        return FrameOutcome(
            detections=[_detection_out(item, names) for item in result.detections],
            events=[
                _event_out(event, change, names, unsure_out)
                for event, change in zip(result.events, changes, strict=True)
            ],
            cart=cart_out,
            timings_ms=timings,
            annotated_jpeg=self._annotated(frame_bgr, result) if annotate else None,
        )

    def _change(self, event: CountEvent) -> cart.CartChange:
        """What one counting decision changes in the cart; keeps its crop where one is wanted.

        An ADD's crop is kept under the event's id while learning from corrections is on,
        so a confirmed correction can teach the index what the item really was; an unsure
        item's crop always, because the bill shows it.
        """
        if event.kind == EventKind.ADD and event.product_id is not None:
            event_id = uuid.uuid4()
            if event.crop_rgb is not None and self.settings.learn_from_corrections:
                self._keep_crop(crops.crop_path(self.settings, self.session_id, event_id), event)
            return cart.Counted(event.product_id, float(event.score or 0.0), event_id)
        if event.kind == EventKind.REMOVE and event.product_id is not None:
            return cart.TakenOut(event.product_id, event.score)
        if event.withdraws is not None:
            return cart.Withdrawn(self._unsure_items.pop(event.withdraws), event.score)
        if event.candidates:
            item_id = uuid.uuid4()
            self._unsure_items[event.track_id] = item_id
            path = crops.unsure_crop_path(self.settings, self.session_id, item_id)
            kept = self._keep_crop(path, event) if event.crop_rgb is not None else None
            return cart.CountedUnsure(
                item_id,
                [unsure.Candidate(c.product_id, c.score) for c in event.candidates],
                kept.relative_to(self.settings.data_dir) if kept is not None else None,
            )
        return cart.Noticed(event.product_id, event.score)

    def _keep_crop(self, path: Path, event: CountEvent) -> Path | None:
        """Write an event's crop; a crop that cannot be written must not stop counting."""
        assert event.crop_rgb is not None
        try:
            return crops.write_crop(path, event.crop_rgb)
        except OSError:
            log.warning("crop %s could not be kept", path, exc_info=True)
            return None

    def _keep_alive(self, db: Session) -> None:
        """Keep a streaming session from idling out; Conflict once it is no longer active."""
        now = time.monotonic()
        if now - self._last_touch < TOUCH_EVERY_SECONDS:
            return
        service.keep_alive(db=db, session_id=self.session_id)
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


def _event_out(
    event: CountEvent,
    change: cart.CartChange,
    names: dict[uuid.UUID, str],
    unsure_out: dict[uuid.UUID, UnsureItemOut],
) -> EventOut:
    if isinstance(change, cart.CountedUnsure):
        return EventOut(
            type="UNSURE",
            product_id=None,
            name=None,
            score=_score(event.score),
            unsure=unsure_out.get(change.item_id),
        )
    if isinstance(change, cart.Withdrawn):
        return EventOut(
            type="UNSURE_REMOVED", product_id=None, name=None, score=_score(event.score)
        )
    product_id = event.product_id
    return EventOut(
        type=EventKind(event.kind).value,
        product_id=product_id,
        name=names.get(product_id) if product_id else None,
        score=_score(event.score),
    )


@dataclass(frozen=True)
class LiveCheckoutParts:
    """What every live checkout of a process is built from; each part is safe to share."""

    recogniser: Recogniser
    index: ProductIndex
    """The index the recogniser searches; its vector space picks the pipeline's thresholds."""
    db_sessions: sessionmaker[Session]
    settings: Settings


def pipeline_config(*, settings: Settings, index: ProductIndex) -> PipelineConfig:
    """The pipeline the settings ask for, judged in the vector space the index searches now."""
    adapted = index.space.tag != RAW_SPACE.tag
    return PipelineConfig.from_settings(settings, adapted=adapted)


def open_live_checkout(
    parts: LiveCheckoutParts, session_id: uuid.UUID, roi: Roi | None
) -> LiveCheckout:
    """A fresh pipeline for the session, recognising against the parts' product index."""
    config = pipeline_config(settings=parts.settings, index=parts.index)
    return LiveCheckout(
        session_id=session_id,
        pipeline=CheckoutPipeline(parts.recogniser, config, roi),
        db_sessions=parts.db_sessions,
        settings=parts.settings,
    )
