"""Ghosts: blobs of empty counter left where the background model once saw an item."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import supervision as sv


class GhostWatch:
    """Finds the tracks that are ghosts, so they are learned as counter and never recognised.

    A ghost is the counter where the background model learned an item that has gone since
    (one in view at the first frame, say). Each new track is tested by ``is_ghost`` on its
    first ``checks`` sightings; a ghost's box is returned once, to be learned.

    >>> watch = GhostWatch(lambda box: box[0] < 20, checks=2)
    >>> boxes = sv.Detections(np.array([[10, 10, 50, 50], [60, 10, 90, 50]], float),
    ...                       tracker_id=np.array([1, 2]))
    >>> carried, ghosts = watch.update(boxes)
    >>> carried.tolist(), ghosts.tolist()
    ([False, True], [[10.0, 10.0, 50.0, 50.0]])
    """

    def __init__(self, is_ghost: Callable[[np.ndarray], bool], *, checks: int) -> None:
        self.is_ghost = is_ghost
        self.checks = checks
        self._seen: dict[int, int] = {}
        self._ghosts: set[int] = set()

    def update(self, tracked: sv.Detections) -> tuple[np.ndarray, np.ndarray]:
        """Which detections are real items (a mask), and the boxes of ghosts found now."""
        real = np.ones(len(tracked), dtype=bool)
        found = []
        for index, (box, track_id) in enumerate(zip(tracked.xyxy, tracked.tracker_id, strict=True)):
            track_id = int(track_id)
            seen = self._seen.get(track_id, 0)
            if track_id not in self._ghosts and seen < self.checks:
                self._seen[track_id] = seen + 1
                if self.is_ghost(box):
                    self._ghosts.add(track_id)
                    found.append(box)
            real[index] = track_id not in self._ghosts
        return real, np.array(found, np.float64).reshape(-1, 4)

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop what is kept of tracks that are over."""
        for track_id in track_ids:
            self._seen.pop(track_id, None)
            self._ghosts.discard(track_id)
