"""Detection: every moving item in a frame, by background subtraction."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
import supervision as sv

if TYPE_CHECKING:
    from ebrcs.checkout.pipeline.config import PipelineConfig

GHOST_RING = 2
"""Pixels (at the processing width) inside a box's border where its outline is measured."""
GHOST_EDGE_RATIO = 0.6
"""A blob whose outline in view is under this share of its outline in the model is a ghost."""
REST_TOLERANCE = 0.05
"""How far (in box diagonals) an item at rest may move from frame to frame: a hand's wobble."""
HOLD_COVERAGE = 0.9
"""A resting item keeps its box only while this share of it is still foreground (not moved)."""
_OUTWARDS = np.array([-1.0, -1.0, 1.0, 1.0])
"""Which way each side of an x0 y0 x1 y1 box moves as it grows."""


class ForegroundDetector:
    """Boxes around every moving blob, from a KNN background model of a downscaled frame.

    The frame is shrunk to ``process_width`` (cheaper, and averaging pixels tames sensor
    noise), its brightness is matched to the first frame's (slow light drift is not motion),
    then the KNN foreground mask (shadows off) is opened, closed and split into connected
    blobs of at least ``min_area`` (a share of the frame). Boxes come back in frame pixels.

    The first frame alone primes the model (learned ``warmup_frames`` times, so no frame
    that shows an item moving or set down is learned as counter), and blobs are reported
    from the second frame on; then the model learns at ``1 / history`` per frame, so an item
    resting on the counter stays foreground for seconds instead of fading in a few frames.
    What the first frame showed of an item that moved on leaves a *ghost* (a blob of empty
    counter); ``absorb`` learns such regions at once. A blob covering most of the frame is a
    lighting jump, not an item, and is dropped.

    Items set down touching each other merge into one blob, which background subtraction
    alone cannot split. Items are put down one at a time, so a blob that covers the box of
    an item *resting* there (``resting``: tracks that kept still) is split: the resting item
    keeps its box (``data["held"]`` True: what is in it may be another item passing over it,
    so it is not a view of the resting one) and the rest of the blob, opened and at least
    ``min_area``, becomes detections of its own. Inside the resting item's box, what no
    longer looks as it did in the last frame it was not held (another item over it) is part
    of the rest.

    >>> from ebrcs.checkout.pipeline.config import PipelineConfig
    >>> detector = ForegroundDetector.from_config(PipelineConfig(process_width=160, min_area=0.01))
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
        process_width: int,
        min_area: float,
        history: int,
        dist2_threshold: float,
        warmup_frames: int,
        max_area: float,
    ) -> None:
        self.process_width = process_width
        self.min_area = min_area
        self.max_area = max_area
        self.warmup_frames = warmup_frames
        self._learning_rate = 1.0 / history
        self._frames = 0
        self._history, self._dist2_threshold = history, dist2_threshold
        self._model = self._new_model()
        self._last: np.ndarray | None = None
        self._reference_level: float | None = None
        self._absorbing: list[np.ndarray] = []
        self._looks: dict[int, np.ndarray] = {}
        """Per resting track, the last (levelled, processing-size) frame it was not held in."""
        self._frame_width = process_width
        scale = process_width / 320
        self._open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, _odd(3 * scale))
        self._close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, _odd(9 * scale))

    @classmethod
    def from_config(cls, config: PipelineConfig) -> ForegroundDetector:
        """A detector as ``config`` sets it up."""
        return cls(
            process_width=config.process_width,
            min_area=config.min_area,
            history=config.history,
            dist2_threshold=config.dist2_threshold,
            warmup_frames=config.warmup_frames,
            max_area=config.max_area,
        )

    def _new_model(self) -> cv2.BackgroundSubtractorKNN:
        return cv2.createBackgroundSubtractorKNN(
            history=self._history, dist2Threshold=self._dist2_threshold, detectShadows=False
        )

    def detect(self, frame_bgr: np.ndarray, resting: sv.Detections | None = None) -> sv.Detections:
        """The moving blobs of this frame (and a background model updated with it).

        ``resting``: the items at rest in the last frame (boxes and ``tracker_id``).
        """
        height, width = frame_bgr.shape[:2]
        self._frame_width = width
        scale = min(1.0, self.process_width / width)
        small = cv2.resize(
            frame_bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
        self._frames += 1
        levelled = self._last = self._level(small)
        if self._frames == 1:
            # -1 lets OpenCV learn as fast as the frames seen so far allow.
            for _ in range(self.warmup_frames):
                self._model.apply(levelled, learningRate=-1)
            return sv.Detections.empty()
        mask = self._model.apply(levelled, learningRate=self._learning_rate)
        if self._absorbing:
            self._learn_regions(levelled, self._absorbing)
            self._absorbing = []
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        count, labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_pixels = self.min_area * mask.shape[0] * mask.shape[1]
        if resting is None:
            resting = sv.Detections.empty()
            resting.tracker_id = np.zeros(0, dtype=int)
        boxes: list[np.ndarray] = []
        held: list[bool] = []
        held_ids: set[int] = set()
        max_pixels = self.max_area * mask.shape[0] * mask.shape[1]
        for label in range(1, count):
            x, y, w, h, area = stats[label]
            if not min_pixels <= area <= max_pixels:
                continue
            kept, parts = self._split(
                labels, label, (x, y, x + w, y + h), resting, levelled, scale, min_pixels
            )
            if len(kept) + len(parts) > 1:
                boxes += [resting.xyxy[index] for index in kept] + [box / scale for box in parts]
                held += [True] * len(kept) + [False] * len(parts)
                held_ids |= {int(resting.tracker_id[index]) for index in kept}
            else:
                boxes.append(np.array([x, y, x + w, y + h], float) / scale)
                held.append(False)
        # A resting item not held this frame is seen as itself: remember how it looks.
        looks = {int(track_id): levelled for track_id in resting.tracker_id}
        for track_id in held_ids:
            if track_id in self._looks:
                looks[track_id] = self._looks[track_id]
            else:
                del looks[track_id]
        self._looks = looks
        if not boxes:
            return sv.Detections.empty()
        xyxy = np.array(boxes, dtype=np.float32)
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, height)
        return sv.Detections(
            xyxy=xyxy,
            confidence=np.ones(len(xyxy), dtype=np.float32),
            data={"held": np.array(held, dtype=bool)},
        )

    def _split(
        self,
        labels: np.ndarray,
        label: int,
        bounds: tuple[int, int, int, int],
        resting: sv.Detections,
        levelled: np.ndarray,
        scale: float,
        min_pixels: float,
    ) -> tuple[list[int], list[np.ndarray]]:
        """The resting items blob ``label`` still covers, and its parts beside them
        (processing px). ``bounds``: the blob's box."""
        boxes = resting.xyxy * scale
        slacks = REST_TOLERANCE * np.hypot(*(boxes[:, 2:] - boxes[:, :2]).T)
        near = (
            (boxes[:, 0] - slacks < bounds[2])
            & (boxes[:, 2] + slacks > bounds[0])
            & (boxes[:, 1] - slacks < bounds[3])
            & (boxes[:, 3] + slacks > bounds[1])
        )
        if not near.any():
            return [], []
        # Work in the blob's box with a margin wider than any kernel below reaches, where
        # everything outside the blob is empty, as it is in the whole frame.
        pad = math.ceil(float(slacks[near].max())) + self._open.shape[0]
        x0, y0, x1, y1 = _pixels(np.array(bounds) + pad * _OUTWARDS, labels.shape)
        blob = labels[y0:y1, x0:x1] == label
        offset = np.array([x0, y0, x0, y0], float)
        kept = []
        boxed = np.zeros(blob.shape, bool)  # in a kept item's box
        looks_alike = np.zeros(blob.shape, bool)  # ... and looking as it did when not held
        for index in np.flatnonzero(near):
            # The item may have wobbled by the tolerance: its inner box is all item, its outer
            # box holds all of it.
            box, slack = boxes[index] - offset, slacks[index] * _OUTWARDS
            left, top, right, bottom = _pixels(box - slack, blob.shape)
            inside = blob[top:bottom, left:right]
            if not inside.size or inside.mean() < HOLD_COVERAGE:
                continue
            kept.append(int(index))
            left, top, right, bottom = _pixels(box + slack, blob.shape)
            boxed[top:bottom, left:right] = True
            look = self._looks.get(int(resting.tracker_id[index]))
            if look is None:
                looks_alike[top:bottom, left:right] = True
            else:
                now = levelled[y0:y1, x0:x1][top:bottom, left:right]
                before = look[y0:y1, x0:x1][top:bottom, left:right]
                shift = math.ceil(float(slacks[index]))
                looks_alike[top:bottom, left:right] |= self._looks_alike(now, before, shift)
        if not kept:
            return [], []
        outside = blob & ~boxed
        if np.count_nonzero(outside) < min_pixels:
            return kept, []  # too little of it sticks out to hold another item
        beside = self._pieces(outside, min_pixels)
        if not beside.any():
            return kept, []
        # What sticks out of the resting items' boxes is another item; inside them, so is what
        # no longer looks like the resting item, where it joins what sticks out.
        count, pieces, stats, _centroids = cv2.connectedComponentsWithStats(
            self._pieces(blob & ~looks_alike, 0).astype(np.uint8), connectivity=8
        )
        joined = set(np.unique(pieces[beside]).tolist()) - {0}
        parts = [
            np.array([x, y, x + w, y + h], float) + offset
            for piece, (x, y, w, h, _area) in enumerate(stats[:count])
            if piece in joined
        ]
        return kept, parts

    def _looks_alike(self, now: np.ndarray, before: np.ndarray, shift: int) -> np.ndarray:
        """Pixels of ``now`` within the background threshold of ``before`` moved by up to
        ``shift`` pixels (each channel compared with its least and greatest value nearby)."""
        kernel = np.ones((2 * shift + 1, 2 * shift + 1), np.uint8)
        low = cv2.erode(before, kernel).astype(np.float32)
        high = cv2.dilate(before, kernel).astype(np.float32)
        now = now.astype(np.float32)
        outside = np.maximum(low - now, 0) + np.maximum(now - high, 0)
        return (outside**2).sum(axis=2) <= self._dist2_threshold

    def _pieces(self, mask: np.ndarray, min_pixels: float) -> np.ndarray:
        """The mask opened, without its connected pieces smaller than ``min_pixels``."""
        opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, self._open)
        count, labels, stats, _centroids = cv2.connectedComponentsWithStats(opened, connectivity=8)
        large = np.flatnonzero(stats[:count, cv2.CC_STAT_AREA] >= min_pixels)
        return np.isin(labels, large[large > 0])

    def absorb(self, boxes: np.ndarray) -> None:
        """Learn these regions (frame pixels, x0 y0 x1 y1) as counter from the next frame on."""
        self._absorbing = [*self._absorbing, *np.asarray(boxes, np.float64).reshape(-1, 4)]

    def looks_like_ghost(self, box: np.ndarray) -> bool:
        """Whether a blob's box is a ghost: its outline is sharper in the model than in view.

        A real item has its own edges along its box, the counter behind it has none; a ghost
        is the other way round (the edges are those of the item the model learned).
        """
        if self._last is None:
            return False
        scale = self._last.shape[1] / self._frame_width
        x0, y0, x1, y1 = (round(float(v) * scale) for v in box)
        if x1 - x0 < 2 * GHOST_RING + 2 or y1 - y0 < 2 * GHOST_RING + 2:
            return False
        in_view = _outline_strength(self._last, x0, y0, x1, y1)
        learned = _outline_strength(self._model.getBackgroundImage(), x0, y0, x1, y1)
        return in_view < GHOST_EDGE_RATIO * learned

    def _learn_regions(self, levelled: np.ndarray, boxes: list[np.ndarray]) -> None:
        """Start the model afresh from its background, with ``levelled`` inside the boxes."""
        scale = levelled.shape[1] / self._frame_width
        picture = self._model.getBackgroundImage().copy()
        for box in boxes:
            x0, y0, x1, y1 = (round(float(v) * scale) for v in box)
            picture[y0:y1, x0:x1] = levelled[y0:y1, x0:x1]
        # Learning one frame at rate 1 leaves OpenCV's KNN seeing foreground everywhere;
        # a new model primed like the first one does not.
        self._model = self._new_model()
        for _ in range(self.warmup_frames):
            self._model.apply(picture, learningRate=-1)

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


def _pixels(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A box's whole pixels inside an image of ``shape``: x0, y0, x1, y1."""
    height, width = shape[:2]
    return (
        min(max(math.floor(float(box[0])), 0), width),
        min(max(math.floor(float(box[1])), 0), height),
        min(max(math.ceil(float(box[2])), 0), width),
        min(max(math.ceil(float(box[3])), 0), height),
    )


def _outline_strength(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> float:
    """Mean gradient magnitude in a thin ring just inside the box (``GHOST_RING`` pixels)."""
    pad = GHOST_RING + 1
    top, left = max(y0 - pad, 0), max(x0 - pad, 0)
    patch = cv2.cvtColor(image[top : y1 + pad, left : x1 + pad], cv2.COLOR_BGR2GRAY)
    patch = patch.astype(np.float32)
    magnitude = cv2.magnitude(
        cv2.Sobel(patch, cv2.CV_32F, 1, 0), cv2.Sobel(patch, cv2.CV_32F, 0, 1)
    )
    ring = np.zeros(magnitude.shape, bool)
    ys, xs = y0 - top, x0 - left
    ring[ys : ys + y1 - y0, xs : xs + x1 - x0] = True
    ring[
        ys + GHOST_RING : ys + y1 - y0 - GHOST_RING, xs + GHOST_RING : xs + x1 - x0 - GHOST_RING
    ] = False
    return float(magnitude[ring].mean()) if ring.any() else 0.0
