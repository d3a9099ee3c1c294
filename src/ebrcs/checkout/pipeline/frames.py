"""Reading a video file as timestamped frames for the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ebrcs.errors import ErrorCode, InvalidInput

MAX_FRAME_WIDTH = 960
"""Wider frames are shrunk: counting needs no more detail than the live camera sends."""
FALLBACK_FPS = 30.0


@dataclass
class VideoFrames:
    """An opened video: its frame rate, its frame count (0 if unknown) and its frames."""

    path: Path
    max_width: int = MAX_FRAME_WIDTH

    def __post_init__(self) -> None:
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            self._capture.release()
            raise InvalidInput(
                f"cannot open {self.path.name} as a video", code=ErrorCode.VIDEO_UNDECODABLE
            )
        fps = self._capture.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = fps if 1.0 <= fps <= 240.0 else FALLBACK_FPS
        self.frame_count = max(int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        """``(seconds, BGR frame)`` until the video ends or stops decoding; then it is closed."""
        index = 0
        try:
            while True:
                ok, frame = self._capture.read()
                if not ok:
                    return
                height, width = frame.shape[:2]
                if width > self.max_width:
                    size = (self.max_width, round(height * self.max_width / width))
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                yield index / self.fps, frame
                index += 1
        finally:
            self._capture.release()
