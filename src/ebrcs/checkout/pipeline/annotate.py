"""Drawing a frame's result for people to see, with supervision's annotators; nothing here
decides anything."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import numpy as np
import supervision as sv

from ebrcs.checkout.pipeline.pipeline import FrameResult

KNOWN = sv.Color(60, 200, 60)
"""An item named as a product."""
UNKNOWN = sv.Color(255, 170, 0)
"""An item not named (yet)."""
ZONE = sv.Color(0, 160, 255)
_OUTCOMES = sv.ColorPalette([KNOWN, UNKNOWN])
"""Indexed by ``class_id``: 0 named, 1 not named."""
_BOXES = sv.BoxAnnotator(color=_OUTCOMES, thickness=2, color_lookup=sv.ColorLookup.CLASS)
_LABELS = sv.LabelAnnotator(
    color=_OUTCOMES,
    text_color=sv.Color.BLACK,
    text_padding=4,
    color_lookup=sv.ColorLookup.CLASS,
)


def annotate(
    frame_bgr: np.ndarray,
    result: FrameResult,
    *,
    names: Mapping[uuid.UUID, str],
    roi: Sequence[Sequence[float]] | None = None,
) -> np.ndarray:
    """A copy of the frame with the zone, each item's box, track id and product drawn on it."""
    image = frame_bgr.copy()
    height, width = image.shape[:2]
    if roi is not None:
        polygon = np.round(np.array(roi, np.float64) * (width, height)).astype(np.int64)
        sv.draw_polygon(image, polygon, ZONE, thickness=2)
    if not result.detections:
        return image
    items = sv.Detections(
        xyxy=np.array([item.box for item in result.detections], np.float32),
        class_id=np.array([int(item.product_id is None) for item in result.detections]),
        tracker_id=np.array([item.track_id for item in result.detections]),
    )
    labels = [
        f"#{item.track_id}"
        if item.product_id is None or item.score is None
        else f"#{item.track_id} {names.get(item.product_id, str(item.product_id)[:8])} "
        f"{item.score:.2f}"
        for item in result.detections
    ]
    image = _BOXES.annotate(image, items)
    return _LABELS.annotate(image, items, labels)
