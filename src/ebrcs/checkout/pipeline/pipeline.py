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
from ebrcs.checkout.pipeline.count import CountEvent, ItemCounter
from ebrcs.checkout.pipeline.detect import ForegroundDetector
from ebrcs.checkout.pipeline.ghosts import GhostWatch
from ebrcs.checkout.pipeline.recognise import AcceptanceRule, Identity, TrackRecogniser
from ebrcs.checkout.pipeline.recogniser import Recogniser
from ebrcs.checkout.pipeline.track import ItemTracker, RestingItems
from ebrcs.checkout.pipeline.zone import ItemZone, Polygon
from ebrcs.config import Settings

TIMING_STEPS = ("background", "tracking", "embedding", "search", "total")
_DEFAULTS = Settings.model_fields


@dataclass(frozen=True)
class PipelineConfig:
    """How a session's frames are turned into counting events."""

    process_width: int = 320
    """Frames are shrunk to this width for background subtraction (boxes stay in frame px)."""
    min_area: float = 0.004
    """Smallest moving blob kept, as a share of the frame."""
    history: int = 500
    """Frames the background model remembers: an item resting longer fades into it."""
    dist2_threshold: float = 400.0
    confirm_frames: int = 3
    """Consecutive sightings before a blob becomes a track."""
    lost_seconds: float = 1.0
    """How long a track that lost its item may find it again."""
    votes: int = 2
    """Good views (clear of the edge, near the largest, still) a track is recognised from."""
    retries: int = 1
    """Times an unsure track still in view is tried again, each on one later view (added to
    the earlier ones), before it is settled."""
    aggregation: str = "mean"
    """``mean``: one search for the mean of the views' vectors; ``vote``: one per view."""
    max_motion: float = 0.08
    """Most a view's box may have moved since the previous frame, in box diagonals."""
    accept_score: float = _DEFAULTS["checkout_accept_score"].default
    """Named when the best product scores at least this (see ``AcceptanceRule``)..."""
    accept_margin: float = _DEFAULTS["checkout_accept_margin"].default
    """... and leads the runner-up by this much."""
    floor_score: float = _DEFAULTS["checkout_floor_score"].default
    """Below this, not a product: a notice, not counted."""
    zone_frames: int = 2
    """Frames an item must stay on the new side of the zone boundary before it counts."""
    remove_on_exit: bool = True
    """With a zone: taking an item back out of it removes it from the cart."""
    refind_seconds: float = 1.5
    """A track starting this soon near a lost one continues the same item."""
    rest_frames: int = 3
    """Frames an item must keep still to be at rest: a blob merging into it is then split."""

    @classmethod
    def from_settings(
        cls, settings: Settings, *, adapted: bool = False, **overrides: object
    ) -> PipelineConfig:
        """The configuration the settings ask for; ``adapted``: the index searches through a
        catalogue adapter, whose scores take their own thresholds."""
        prefix = "checkout_adapted_" if adapted else "checkout_"
        values: dict[str, object] = {
            "remove_on_exit": settings.checkout_remove_on_exit,
            "accept_score": getattr(settings, f"{prefix}accept_score"),
            "accept_margin": getattr(settings, f"{prefix}accept_margin"),
            "floor_score": getattr(settings, f"{prefix}floor_score"),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


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
        self._detector = ForegroundDetector(
            process_width=config.process_width,
            min_area=config.min_area,
            history=config.history,
            dist2_threshold=config.dist2_threshold,
        )
        self._tracker = ItemTracker(
            confirm_frames=config.confirm_frames, lost_seconds=config.lost_seconds
        )
        self._recogniser = TrackRecogniser(
            recogniser,
            AcceptanceRule(
                accept_score=config.accept_score,
                accept_margin=config.accept_margin,
                floor_score=config.floor_score,
            ),
            votes=config.votes,
            retries=config.retries,
            aggregation=config.aggregation,
            max_motion=config.max_motion,
        )
        self._counter = ItemCounter(
            zone_frames=config.zone_frames,
            remove_on_exit=config.remove_on_exit,
            track_timeout=config.lost_seconds,
            refind_seconds=config.refind_seconds,
        )
        self._resting = RestingItems(frames=config.rest_frames)
        self._ghosts = GhostWatch(self._detector.looks_like_ghost)
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
