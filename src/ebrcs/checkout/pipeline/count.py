"""Counting by events: turning tracks, their identities and the zone into ADD/REMOVE."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import supervision as sv

from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline.recognise import Identity
from ebrcs.recognition.types import ProductMatch

if TYPE_CHECKING:
    from ebrcs.checkout.pipeline.config import PipelineConfig


@dataclass(frozen=True, slots=True)
class CountEvent:
    """A counting decision about one tracked item."""

    kind: EventKind
    product_id: uuid.UUID | None
    score: float | None
    track_id: int
    timestamp: float
    candidates: tuple[ProductMatch, ...] = ()
    """For an unsure item (UNRECOGNISED, counted without a product): its best products."""
    crop_rgb: np.ndarray | None = field(default=None, compare=False, repr=False)
    """For an ADD or an unsure item, the best view of it (RGB uint8), if one was kept."""
    withdraws: int | None = None
    """For a REMOVE of an unsure item (no product): the track id its UNRECOGNISED event had."""

    @property
    def unsure(self) -> bool:
        """A physical item counted without a product: the shopper names it on the bill."""
        return self.kind == EventKind.UNRECOGNISED and bool(self.candidates)


@dataclass
class _Track:
    """What the counter remembers of one tracked item."""

    first_seen: float
    last_seen: float
    box: np.ndarray
    inside: bool
    """Whether the item is in the zone (after hysteresis); always False without a zone."""
    born_inside: bool
    streak: int = 0
    """Consecutive frames the raw zone test disagreed with ``inside``."""
    last_inside: bool = False
    """The raw zone test of its last sighting: where an item decided as its track ends was."""
    identity: Identity | None = None
    counted: uuid.UUID | None = None
    """The product this physical item added to the cart (possibly through an earlier track)."""
    counted_unsure: int | None = None
    """The track whose UNRECOGNISED event counted this physical item as unsure, if one did."""
    reported: bool = False
    """Whether this track's identity was already acted on where it is now."""
    said_unrecognised: bool = False
    left_view: bool = False
    exited: bool = False
    """Left the zone before being recognised (a REMOVE may still be owed)."""


class ItemCounter:
    """Counts each physical item once, from the confirmed tracks of every frame.

    Without a zone, a track adds its product once, when it is recognised; leaving adds or
    removes nothing. With a zone, being in it adds (also for an item first seen inside it:
    items are carried in faster than a track is confirmed) and leaving it removes
    (``remove_on_exit``). An item recognised but not named is counted once as unsure (an
    UNRECOGNISED event with candidates, which the shopper settles on the bill) and, taken back
    out of the zone, withdrawn (a REMOVE without a product); one that is not a product is
    reported as UNRECOGNISED once, uncounted.

    Tracks break: an item is hidden by a hand, or the tracker loses it for a frame or two.
    Items leave through the edge of the view, not from its middle, so a new track that starts
    near where another vanished inside the view (not at its edge) continues that item and
    does not add the same product again. That holds for a track unseen only since the last
    frame as much as for one that ended up to ``refind_seconds`` ago; the track it continues
    ends at once.
    """

    def __init__(
        self,
        *,
        zone_frames: int,
        remove_on_exit: bool,
        track_timeout: float,
        refind_seconds: float,
        refind_distance: float,
        border_margin: float,
    ) -> None:
        self.zone_frames = zone_frames
        self.remove_on_exit = remove_on_exit
        self.track_timeout = track_timeout
        self.refind_seconds = refind_seconds
        self.refind_distance = refind_distance
        self.border_margin = border_margin
        self.cart: Counter[uuid.UUID] = Counter()
        """What these events added minus what they removed."""
        self._tracks: dict[int, _Track] = {}
        self._lost: list[tuple[float, _Track]] = []

    @classmethod
    def from_config(cls, config: PipelineConfig) -> ItemCounter:
        """A counter as ``config`` sets it up (tracks time out as the tracker loses them)."""
        return cls(
            zone_frames=config.zone_frames,
            remove_on_exit=config.remove_on_exit,
            track_timeout=config.lost_seconds,
            refind_seconds=config.refind_seconds,
            refind_distance=config.refind_distance,
            border_margin=config.border_margin,
        )

    def ending(self, timestamp: float) -> set[int]:
        """Tracks unseen for ``track_timeout``: decide them now, they end this frame."""
        return {
            track_id
            for track_id, track in self._tracks.items()
            if timestamp - track.last_seen > self.track_timeout
        }

    def update(
        self,
        detections: sv.Detections,
        in_zone: np.ndarray | None,
        identities: Mapping[int, Identity],
        *,
        timestamp: float,
        frame_size: tuple[int, int],
    ) -> tuple[list[CountEvent], set[int]]:
        """Events of this frame, and the ids of tracks that are over."""
        zoned = in_zone is not None
        events: list[CountEvent] = []
        present = {int(track_id) for track_id in detections.tracker_id}
        continued: set[int] = set()
        for index, (box, track_id) in enumerate(
            zip(detections.xyxy, detections.tracker_id, strict=True)
        ):
            track_id = int(track_id)
            raw_inside = bool(in_zone[index]) if zoned else False
            track = self._tracks.get(track_id)
            if track is None:
                track = self._start(box, raw_inside, timestamp, present, continued)
                self._tracks[track_id] = track
            track.last_seen = timestamp
            track.box = box
            track.left_view = self._at_edge(box, frame_size)
            if zoned:
                track.last_inside = raw_inside
                self._follow_zone(track, track_id, raw_inside, timestamp, events)
        ended = self.ending(timestamp)
        for track_id, identity in identities.items():
            track = self._tracks.get(track_id)
            if track is not None:
                track.identity = identity
                # A track decided as it ends (it merged into a neighbour, say) counts where it
                # was last seen, even if the zone's hysteresis had not caught up yet.
                ends_inside = track_id in ended and track.last_inside
                self._on_identity(track, track_id, zoned, ends_inside, timestamp, events)
        for track_id in ended:
            self._lost.append((timestamp, self._tracks.pop(track_id)))
        self._lost = [
            (ended_at, track)
            for ended_at, track in self._lost
            if timestamp - ended_at <= self.refind_seconds and not track.left_view
        ]
        return events, ended | continued

    def _start(
        self,
        box: np.ndarray,
        inside: bool,
        timestamp: float,
        present: set[int],
        continued: set[int],
    ) -> _Track:
        """A new track; it continues an item that vanished close by, ending that item's track.

        ``present`` are the tracks in this frame; ids of tracks continued are added to
        ``continued``.
        """
        track = _Track(timestamp, timestamp, box, inside=inside, born_inside=inside)
        unseen = [
            (track_id, earlier)
            for track_id, earlier in self._tracks.items()
            if track_id not in present and not earlier.left_view
        ]
        ended = [(None, earlier) for _, earlier in self._lost]
        found = self._nearest(box, unseen + ended)
        if found is None:
            return track
        track_id, parent = found
        if track_id is None:
            self._lost = [entry for entry in self._lost if entry[1] is not parent]
        else:
            del self._tracks[track_id]
            continued.add(track_id)
        track.counted = parent.counted
        track.counted_unsure = parent.counted_unsure
        track.inside, track.born_inside = parent.inside, parent.born_inside
        track.said_unrecognised = parent.said_unrecognised
        return track

    def _nearest(
        self, box: np.ndarray, candidates: list[tuple[int | None, _Track]]
    ) -> tuple[int | None, _Track] | None:
        """The candidate whose last box is closest to ``box``, if close enough."""
        centre = (box[:2] + box[2:]) / 2
        best, best_distance = None, math.inf
        for candidate in candidates:
            last_box = candidate[1].box
            diagonal = float(np.hypot(*(last_box[2:] - last_box[:2])))
            distance = float(np.hypot(*((last_box[:2] + last_box[2:]) / 2 - centre)))
            if distance <= self.refind_distance * diagonal and distance < best_distance:
                best, best_distance = candidate, distance
        return best

    def _follow_zone(
        self,
        track: _Track,
        track_id: int,
        raw_inside: bool,
        timestamp: float,
        events: list[CountEvent],
    ) -> None:
        """Zone crossings, once the new side has held for ``zone_frames`` frames."""
        track.streak = track.streak + 1 if raw_inside != track.inside else 0
        if track.streak < self.zone_frames:
            return
        track.inside, track.streak = raw_inside, 0
        if track.inside:
            track.exited = False
            if track.identity is not None:
                self._add_or_report(track, track_id, timestamp, events)
            return
        if track.counted is not None:
            if self.remove_on_exit:
                self._remove(track, track.counted, track_id, timestamp, events)
        elif track.counted_unsure is not None:
            if self.remove_on_exit:
                self._withdraw(track, track_id, timestamp, events)
        elif track.identity is None:
            track.exited = True
        else:
            self._remove_taken_out(track, track_id, timestamp, events)
        track.reported = False

    def _on_identity(
        self,
        track: _Track,
        track_id: int,
        zoned: bool,
        ends_inside: bool,
        timestamp: float,
        events: list[CountEvent],
    ) -> None:
        """A track was just recognised: count it if it is where counting happens."""
        if not zoned or track.inside or ends_inside:
            self._add_or_report(track, track_id, timestamp, events)
        elif track.exited:
            track.exited = False
            self._remove_taken_out(track, track_id, timestamp, events)

    def _add_or_report(
        self, track: _Track, track_id: int, timestamp: float, events: list[CountEvent]
    ) -> None:
        """ADD a named product once, count an unsure item once, or report not-a-product once."""
        identity = track.identity
        if identity is None or track.reported:
            return
        track.reported = True
        if track.counted_unsure is not None:
            return  # this physical item is already on the bill, waiting to be named
        if identity.accepted and identity.product_id is not None:
            if identity.product_id == track.counted:
                return
            track.counted = identity.product_id
            self.cart[identity.product_id] += 1
            events.append(
                CountEvent(EventKind.ADD, identity.product_id, identity.score, track_id, timestamp)
            )
        elif track.counted is not None:
            return
        elif identity.unsure:
            track.counted_unsure = track_id
            events.append(
                CountEvent(
                    EventKind.UNRECOGNISED,
                    None,
                    identity.score,
                    track_id,
                    timestamp,
                    candidates=identity.candidates,
                )
            )
        elif not track.said_unrecognised:
            track.said_unrecognised = True
            events.append(
                CountEvent(
                    EventKind.UNRECOGNISED, identity.product_id, identity.score, track_id, timestamp
                )
            )

    def _remove_taken_out(
        self, track: _Track, track_id: int, timestamp: float, events: list[CountEvent]
    ) -> None:
        """An item that was not added by this track left the zone: remove it if it is there."""
        identity = track.identity
        if (
            self.remove_on_exit
            and track.born_inside
            and identity is not None
            and identity.accepted
            and identity.product_id is not None
            and self.cart[identity.product_id] > 0
        ):
            self._remove(track, identity.product_id, track_id, timestamp, events)

    def _remove(
        self,
        track: _Track,
        product_id: uuid.UUID,
        track_id: int,
        timestamp: float,
        events: list[CountEvent],
    ) -> None:
        """REMOVE one of ``product_id``."""
        score = track.identity.score if track.identity is not None else None
        self.cart[product_id] -= 1
        track.counted = None
        track.born_inside = False
        events.append(CountEvent(EventKind.REMOVE, product_id, score, track_id, timestamp))

    def _withdraw(
        self, track: _Track, track_id: int, timestamp: float, events: list[CountEvent]
    ) -> None:
        """REMOVE the unsure item this physical item was counted as."""
        score = track.identity.score if track.identity is not None else None
        events.append(
            CountEvent(
                EventKind.REMOVE, None, score, track_id, timestamp, withdraws=track.counted_unsure
            )
        )
        track.counted_unsure = None
        track.born_inside = False

    def _at_edge(self, box: np.ndarray, frame_size: tuple[int, int]) -> bool:
        """Whether the box touches the frame's edge (the item is leaving or entering)."""
        width, height = frame_size
        margin = self.border_margin
        return bool(
            box[0] <= margin
            or box[1] <= margin
            or box[2] >= width - margin
            or box[3] >= height - margin
        )


def still_unsure(events: Iterable[CountEvent]) -> list[CountEvent]:
    """The unsure items these events counted and did not withdraw, in the order counted."""
    counted: dict[int, CountEvent] = {}
    for event in events:
        if event.unsure:
            counted[event.track_id] = event
        elif event.withdraws is not None:
            counted.pop(event.withdraws, None)
    return list(counted.values())
