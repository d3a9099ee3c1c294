"""The optional region of interest: a basket or bagging zone drawn over the camera view."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import supervision as sv

from ebrcs.errors import ErrorCode, InvalidInput

Polygon = list[tuple[float, float]]


def check_polygon(points: Sequence[Sequence[float]]) -> Polygon:
    """The polygon as ``(x, y)`` tuples if it has at least 3 points inside [0, 1]."""
    if len(points) < 3:
        raise InvalidInput("a zone needs at least 3 points", code=ErrorCode.INVALID_ROI)
    polygon = []
    for point in points:
        if len(point) != 2:
            raise InvalidInput("each zone point is an (x, y) pair", code=ErrorCode.INVALID_ROI)
        x, y = float(point[0]), float(point[1])
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidInput("zone points are normalised to [0, 1]", code=ErrorCode.INVALID_ROI)
        polygon.append((x, y))
    return polygon


class ItemZone:
    """Which detections have their centre inside a polygon given in normalised coordinates.

    >>> zone = ItemZone([(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)])
    >>> boxes = sv.Detections(xyxy=np.array([[0, 0, 10, 10], [80, 0, 90, 10]], float))
    >>> zone.trigger(boxes, (100, 50)).tolist()
    [False, True]
    """

    def __init__(self, polygon: Sequence[Sequence[float]]) -> None:
        self.polygon = check_polygon(polygon)
        self._zone: sv.PolygonZone | None = None
        self._frame_size: tuple[int, int] | None = None

    def trigger(self, detections: sv.Detections, frame_size: tuple[int, int]) -> np.ndarray:
        """A boolean per detection: is its centre in the zone (frame size is width, height)."""
        if len(detections) == 0:
            return np.zeros(0, dtype=bool)
        if self._zone is None or frame_size != self._frame_size:
            pixels = np.round(np.array(self.polygon) * np.array(frame_size)).astype(np.int64)
            self._zone = sv.PolygonZone(pixels, triggering_anchors=(sv.Position.CENTER,))
            self._frame_size = frame_size
        return self._zone.trigger(detections)
