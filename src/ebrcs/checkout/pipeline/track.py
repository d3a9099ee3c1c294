"""Tracking: one id per physical item across frames (ByteTrack from ``trackers``)."""

from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker, DIoU

from ebrcs.checkout.pipeline.detect import REST_TOLERANCE

MIN_SIMILARITY = -0.35
"""Lowest DIoU that still links a box to a track: at 10 fps a carried item can move more
than its own width between frames, so boxes need not overlap, only be near each other."""
UNBOUNDED_FRAMES = 1_000_000
"""ByteTrack's own lost-track budget in frames: never reached, the budget is kept in seconds."""


class ItemTracker:
    """Assigns stable ``tracker_id``s; returns only detections of confirmed tracks.

    A track is confirmed after ``confirm_frames`` consecutive matches. The motion model steps
    once per processed frame, not per second: frame timestamps are arrival times, bunched
    while frames are cheap and spread out behind a slow (recognising) frame, and a velocity
    measured over a few milliseconds and projected over half a second puts a carried item
    that was just set down far from where it rests. A track unseen for ``lost_seconds`` of
    frame time is dropped, however many frames that was.

    >>> tracker = ItemTracker(confirm_frames=3, lost_seconds=1.0)
    >>> lefts = [0, 40, 80, 120, 135, 135]  # carried in, then set down behind a slow frame
    >>> times = [0.0, 0.01, 0.02, 0.03, 0.33, 0.34]
    >>> [tracker.update(sv.Detections(np.array([[x, 100, x + 100, 200]], float)), t)
    ...  .tracker_id.tolist() for x, t in zip(lefts, times)]
    [[], [], [0], [0], [0], [0]]
    """

    def __init__(self, *, confirm_frames: int, lost_seconds: float) -> None:
        self.lost_seconds = lost_seconds
        self._tracker = ByteTrackTracker(
            lost_track_buffer=UNBOUNDED_FRAMES,
            track_activation_threshold=0.5,
            minimum_consecutive_frames=confirm_frames,
            minimum_iou_threshold=MIN_SIMILARITY,
            iou=DIoU(),
        )
        self._last_seen: dict[int, float] = {}

    def update(self, detections: sv.Detections, timestamp: float) -> sv.Detections:
        """The detections that belong to confirmed tracks, with their ``tracker_id``."""
        self._drop_lost(timestamp)
        # No timestamp: ByteTrack then predicts one step per call (see the class docstring).
        tracked = self._tracker.update(detections)
        if tracked.tracker_id is None or len(tracked) == 0:
            empty = sv.Detections.empty()
            empty.tracker_id = np.zeros(0, dtype=int)
            return empty
        confirmed = tracked[tracked.tracker_id >= 0]
        for track_id in confirmed.tracker_id:
            self._last_seen[int(track_id)] = timestamp
        return confirmed

    def _drop_lost(self, timestamp: float) -> None:
        """Forget confirmed tracks unseen for longer than ``lost_seconds``."""
        expired = {
            track_id
            for track_id, seen in self._last_seen.items()
            if timestamp - seen > self.lost_seconds
        }
        if not expired:
            return
        self._tracker.tracks = [
            track for track in self._tracker.tracks if track.tracker_id not in expired
        ]
        for track_id in expired:
            del self._last_seen[track_id]


class RestingItems:
    """Which tracked items are at rest: their box kept still over the last ``frames`` frames.

    Still means no side of the box moved more than ``REST_TOLERANCE`` of its diagonal from one
    frame to the next (a hand's wobble, not an item being lifted). A track missing from a
    frame starts over.

    >>> resting = RestingItems(frames=2)
    >>> for left in (0, 40, 41, 41):
    ...     resting.update(sv.Detections(np.array([[left, 0, left + 100, 100]], float),
    ...                                  tracker_id=np.array([7])))
    ...     print(resting.items().xyxy.tolist())
    []
    []
    []
    [[41.0, 0.0, 141.0, 100.0]]
    """

    def __init__(self, *, frames: int) -> None:
        self.frames = frames
        self._history: dict[int, list[np.ndarray]] = {}

    def update(self, tracked: sv.Detections) -> None:
        """Record this frame's tracked boxes."""
        history = {}
        for box, track_id in zip(tracked.xyxy, tracked.tracker_id, strict=True):
            boxes = [*self._history.get(int(track_id), []), np.asarray(box, float)]
            history[int(track_id)] = boxes[-(self.frames + 1) :]
        self._history = history

    def items(self) -> sv.Detections:
        """The items at rest: their last boxes (frame pixels) and ``tracker_id``."""
        still, ids = [], []
        for track_id, boxes in self._history.items():
            if len(boxes) <= self.frames:
                continue
            stacked = np.stack(boxes)
            diagonal = float(np.hypot(*(stacked[-1, 2:] - stacked[-1, :2])))
            if np.abs(np.diff(stacked, axis=0)).max() <= REST_TOLERANCE * diagonal:
                still.append(stacked[-1])
                ids.append(track_id)
        return sv.Detections(np.array(still, float).reshape(-1, 4), tracker_id=np.array(ids, int))
