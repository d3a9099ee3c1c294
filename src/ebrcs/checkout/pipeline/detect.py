"""Detection: every moving item in a frame, by background subtraction."""

from __future__ import annotations

import cv2
import numpy as np
import supervision as sv


class ForegroundDetector:
    """Boxes around every moving blob, from a KNN background model of a downscaled frame.

    The frame is shrunk to ``process_width`` (cheaper, and averaging pixels tames sensor
    noise), its brightness is matched to the first frame's (slow light drift is not motion),
    then the KNN foreground mask (shadows off) is opened, closed and split into connected
    blobs of at least ``min_area`` (a share of the frame). Boxes come back in frame pixels.

    The model learns fast for ``warmup_frames`` (nothing is reported meanwhile), then at
    ``1 / history`` per frame, so an item resting on the counter stays foreground for
    seconds instead of fading in a few frames. A blob covering most of the frame is a
    lighting jump, not an item, and is dropped.

    >>> detector = ForegroundDetector(process_width=160, min_area=0.01)
    >>> empty = np.full((90, 160, 3), 120, np.uint8)
    >>> for _ in range(8):
    ...     _ = detector.detect(empty)
    >>> item = empty.copy(); item[30:60, 40:80] = (20, 200, 40)
    >>> detector.detect(item).xyxy.round().tolist()
    [[40.0, 30.0, 80.0, 60.0]]
    """

    def __init__(
        self,
        *,
        process_width: int = 320,
        min_area: float = 0.004,
        history: int = 500,
        dist2_threshold: float = 400.0,
        warmup_frames: int = 5,
        max_area: float = 0.6,
    ) -> None:
        self.process_width = process_width
        self.min_area = min_area
        self.max_area = max_area
        self.warmup_frames = warmup_frames
        self._learning_rate = 1.0 / history
        self._frames = 0
        self._model = cv2.createBackgroundSubtractorKNN(
            history=history, dist2Threshold=dist2_threshold, detectShadows=False
        )
        self._reference_level: float | None = None
        scale = process_width / 320
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, _odd(3 * scale))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, _odd(9 * scale))

    def detect(self, frame_bgr: np.ndarray) -> sv.Detections:
        """The moving blobs of this frame (and a background model updated with it)."""
        height, width = frame_bgr.shape[:2]
        scale = min(1.0, self.process_width / width)
        small = cv2.resize(
            frame_bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
        self._frames += 1
        warming_up = self._frames <= self.warmup_frames
        # -1 lets OpenCV learn as fast as the frames seen so far allow.
        mask = self._model.apply(
            self._level(small), learningRate=-1 if warming_up else self._learning_rate
        )
        if warming_up:
            return sv.Detections.empty()
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_pixels = self.min_area * mask.shape[0] * mask.shape[1]
        boxes = [(x, y, x + w, y + h) for x, y, w, h, area in stats[1:count] if area >= min_pixels]
        if not boxes:
            return sv.Detections.empty()
        xyxy = np.array(boxes, dtype=np.float32) / scale
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
        return sv.Detections(xyxy=xyxy, confidence=np.ones(len(xyxy), dtype=np.float32))

    def _level(self, small: np.ndarray) -> np.ndarray:
        """The frame scaled so its median brightness matches the first frame's."""
        level = float(np.median(small[::4, ::4]))
        if self._reference_level is None:
            self._reference_level = level
        if level <= 0:
            return small
        gain = self._reference_level / level
        if abs(gain - 1.0) < 0.005:
            return small
        return cv2.convertScaleAbs(small, alpha=gain)


def _odd(size: float) -> tuple[int, int]:
    """A kernel size: the nearest odd integer, at least 1."""
    side = max(1, round(size)) | 1
    return side, side
