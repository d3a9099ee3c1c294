"""Drawing a frame's result for people to see; nothing here decides anything."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from ebrcs.checkout.pipeline.pipeline import FrameResult

KNOWN = (60, 200, 60)
UNKNOWN = (0, 170, 255)
ZONE = (255, 160, 0)


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
        polygon = np.round(np.array(roi, np.float64) * (width, height)).astype(np.int32)
        cv2.polylines(image, [polygon], isClosed=True, color=ZONE, thickness=2)
    for item in result.detections:
        x0, y0, x1, y1 = (round(value) for value in item.box)
        colour = KNOWN if item.product_id is not None else UNKNOWN
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, 2)
        label = f"#{item.track_id}"
        if item.product_id is not None:
            label += f" {names.get(item.product_id, str(item.product_id)[:8])} {item.score:.2f}"
        cv2.putText(
            image,
            label,
            (x0 + 3, max(y0 - 6, 12)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            colour,
            1,
            cv2.LINE_AA,
        )
    return image
