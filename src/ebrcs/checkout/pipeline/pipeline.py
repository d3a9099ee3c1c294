"""The frame pipeline of one checkout session: detect, zone, track, recognise, count.

Tracks that never moved are ghosts of the background model (``ghosts``): they are learned
as counter and never recognised. Items at rest (``RestingItems``) keep their own box when
another item is put down touching them (``ForegroundDetector``).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline.config import PipelineConfig
from ebrcs.checkout.pipeline.count import CountEvent, ItemCounter
from ebrcs.checkout.pipeline.detect import ForegroundDetector
from ebrcs.checkout.pipeline.ghosts import GhostWatch
from ebrcs.checkout.pipeline.recognise import AcceptanceRule, Identity, TrackRecogniser
from ebrcs.checkout.pipeline.recogniser import Recogniser
from ebrcs.checkout.pipeline.track import ItemTracker, RestingItems
from ebrcs.checkout.pipeline.zone import ItemZone, Polygon

TIMING_STEPS = ("background", "tracking", "embedding", "search", "total")


@dataclass(frozen=True, slots=True)
class TrackedItem:
    """One item in one frame: its box (frame pixels, x0 y0 x1 y1), track and product."""

    box: tuple[float, float, float, float]
    track_id: int
    product_id: uuid.UUID | None
    score: float | None


@dataclass(frozen=True)
class FrameResult:
    """What one frame produced: items in view, counting events and step timings (ms)."""

    detections: list[TrackedItem]
    events: list[CountEvent]
    timings_ms: dict[str, float] = field(default_factory=dict)


class CheckoutPipeline:
    """One session's pipeline; ``process`` is synchronous and not thread-safe (one per session).

    >>> from ebrcs.recognition.types import Recognition
    >>> class NothingKnown:
    ...     def recognise(self, images): return [Recognition([], None) for _ in images]
    >>> pipeline = CheckoutPipeline(NothingKnown(), PipelineConfig())
    >>> pipeline.process(np.zeros((90, 160, 3), np.uint8), timestamp=0.0).events
    []
    """

    def __init__(
        self,
        recogniser: Recogniser,
        config: PipelineConfig,
        roi: Sequence[Sequence[float]] | None = None,
    ) -> None:
        self.config = config
        self._detector = ForegroundDetector.from_config(config)
        self._tracker = ItemTracker(
            confirm_frames=config.confirm_frames, lost_seconds=config.lost_seconds
        )
        self._recogniser = TrackRecogniser(
            recogniser,
            AcceptanceRule.from_config(config),
            votes=config.votes,
            retries=config.retries,
            retry_iou=config.retry_iou,
            retry_frames=config.retry_frames,
            aggregation=config.aggregation,
            border_margin=config.border_margin,
            min_area_share=config.min_area_share,
            max_motion=config.max_motion,
        )
        self._counter = ItemCounter.from_config(config)
        self._resting = RestingItems(frames=config.rest_frames)
        self._ghosts = GhostWatch(self._detector.looks_like_ghost, checks=config.ghost_checks)
        self._identities: dict[int, Identity] = {}
        self._zone: ItemZone | None = None
        self.set_roi(roi)

    @property
    def roi(self) -> Polygon | None:
        """The zone polygon in normalised coordinates, or None (the whole view scans)."""
        return self._zone.polygon if self._zone is not None else None

    def set_roi(self, roi: Sequence[Sequence[float]] | None) -> None:
        """Use a zone (at least 3 points in [0, 1]; InvalidInput otherwise) or none."""
        self._zone = ItemZone(roi) if roi is not None else None

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> FrameResult:
        """Run one BGR frame taken at ``timestamp`` seconds (increasing) through every step."""
        timings: dict[str, float] = defaultdict(float)
        start = time.perf_counter()
        height, width = frame_bgr.shape[:2]

        found = self._detector.detect(frame_bgr, self._resting.items())
        detected = time.perf_counter()
        tracked = self._tracker.update(found, timestamp)
        self._resting.update(tracked)
        in_zone = self._zone.trigger(tracked, (width, height)) if self._zone else None
        timings["tracking"] = (time.perf_counter() - detected) * 1000
        timings["background"] = (detected - start) * 1000

        carried, ghosts = self._ghosts.update(tracked)
        if len(ghosts):
            self._detector.absorb(ghosts)
        self._recogniser.observe(tracked[carried], frame_bgr)
        identities = self._recogniser.decide(self._counter.ending(timestamp), timings)
        self._identities.update(identities)
        events, ended = self._counter.update(
            tracked, in_zone, identities, timestamp=timestamp, frame_size=(width, height)
        )
        events = [
            replace(event, crop_rgb=self._recogniser.best_crop(event.track_id))
            if event.kind == EventKind.ADD or event.unsure
            else event
            for event in events
        ]
        self._recogniser.forget(ended)
        self._ghosts.forget(ended)
        for track_id in ended:
            self._identities.pop(track_id, None)

        timings["total"] = (time.perf_counter() - start) * 1000
        return FrameResult(
            detections=[
                self._item(box, int(tid))
                for box, tid in zip(tracked.xyxy, tracked.tracker_id, strict=True)
            ],
            events=events,
            timings_ms={step: round(timings[step], 3) for step in TIMING_STEPS},
        )

    def _item(self, box: np.ndarray, track_id: int) -> TrackedItem:
        """The reported view of one tracked detection."""
        identity = self._identities.get(track_id)
        accepted = identity is not None and identity.accepted
        x0, y0, x1, y1 = (round(float(value), 1) for value in box)
        return TrackedItem(
            box=(x0, y0, x1, y1),
            track_id=track_id,
            product_id=identity.product_id if accepted and identity else None,
            score=identity.score if accepted and identity else None,
        )
