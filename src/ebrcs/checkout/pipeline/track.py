"""Tracking: one id per physical item across frames (ByteTrack from ``trackers``)."""

from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker, DIoU

TRACKER_REFERENCE_FPS = 30.0
"""``ByteTrackTracker`` counts its lost-track buffer in frames of a 30 fps video."""
MIN_SIMILARITY = -0.35
"""Lowest DIoU that still links a box to a track: at 10 fps a carried item can move more
than its own width between frames, so boxes need not overlap, only be near each other."""


class ItemTracker:
    """Assigns stable ``tracker_id``s; returns only detections of confirmed tracks.

    A track is confirmed after ``confirm_frames`` consecutive matches, and a lost one may be
    found again for ``lost_seconds``; frame timestamps make both hold when frames are dropped.
    """

    def __init__(self, *, fps: float, confirm_frames: int, lost_seconds: float) -> None:
        self._tracker = ByteTrackTracker(
            lost_track_buffer=round(lost_seconds * TRACKER_REFERENCE_FPS),
            frame_rate=fps,
            track_activation_threshold=0.5,
            minimum_consecutive_frames=confirm_frames,
            minimum_iou_threshold=MIN_SIMILARITY,
            iou=DIoU(),
        )

    def update(self, detections: sv.Detections, timestamp: float) -> sv.Detections:
        """The detections that belong to confirmed tracks, with their ``tracker_id``."""
        tracked = self._tracker.update(detections, timestamp=timestamp)
        if tracked.tracker_id is None or len(tracked) == 0:
            empty = sv.Detections.empty()
            empty.tracker_id = np.zeros(0, dtype=int)
            return empty
        return tracked[tracked.tracker_id >= 0]
