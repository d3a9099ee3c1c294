"""Tracking: one id per physical item across frames (ByteTrack from ``trackers``)."""

from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker, DIoU

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
