"""Cheap colour descriptors of a crop: what ImageNet features are trained to ignore.

Each descriptor is a joint colour histogram of the crop (or its central part) shrunk to a
fixed small size, L1-normalised and square-rooted (the Hellinger map), so it is a unit vector
whose dot product with another is their Bhattacharyya coefficient. Deterministic and well
under a millisecond per crop on one thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ebrcs.embedding.base import check_image

HSV_BINS = (8, 4, 4)
"""Hue, saturation and value bins of the HSV histogram."""
SAMPLE_SIZE = 64
"""Side the crop is shrunk to (area-averaged) before counting: enough pixels for a histogram."""
AB_RANGE = (64, 192)
"""OpenCV's 8-bit a* and b* (128 is neutral) counted within this span; beyond goes to the edge."""


def hsv_histogram(
    image: np.ndarray, *, bins: tuple[int, int, int] = HSV_BINS, centre: float = 1.0
) -> np.ndarray:
    """Hue x saturation x value histogram of ``image`` (RGB uint8), Hellinger-normalised."""
    hsv = cv2.cvtColor(_sample(image, centre), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.int32)
    hue = hsv[:, 0] * bins[0] // 180
    saturation = hsv[:, 1] * bins[1] // 256
    value = hsv[:, 2] * bins[2] // 256
    cells = (hue * bins[1] + saturation) * bins[2] + value
    return _hellinger(np.bincount(cells, minlength=bins[0] * bins[1] * bins[2]))


def ab_histogram(image: np.ndarray, *, bins: int = 8, centre: float = 1.0) -> np.ndarray:
    """CIE Lab a* x b* histogram of ``image`` (RGB uint8), lightness ignored; Hellinger."""
    lab = cv2.cvtColor(_sample(image, centre), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.int32)
    low, high = AB_RANGE
    a, b = (np.clip((lab[:, k] - low) * bins // (high - low), 0, bins - 1) for k in (1, 2))
    return _hellinger(np.bincount(a * bins + b, minlength=bins * bins))


def _sample(image: np.ndarray, centre: float) -> np.ndarray:
    """The central ``centre`` share of each side of ``image``, shrunk to the sample size."""
    if not 0.0 < centre <= 1.0:
        raise ValueError("centre must lie in (0, 1]")
    height, width = image.shape[:2]
    top, left = int(height * (1 - centre) / 2), int(width * (1 - centre) / 2)
    middle = image[top : max(height - top, top + 1), left : max(width - left, left + 1)]
    return cv2.resize(
        np.ascontiguousarray(middle), (SAMPLE_SIZE, SAMPLE_SIZE), interpolation=cv2.INTER_AREA
    )


def _hellinger(counts: np.ndarray) -> np.ndarray:
    """Counts as a unit float32 vector: the square root of their shares."""
    return np.sqrt(counts / counts.sum()).astype(np.float32)


class CentreColourEmbedder:
    """The hue x saturation x value histogram of a crop's central part, as an embedder."""

    id = "hsv_centre"
    dim = HSV_BINS[0] * HSV_BINS[1] * HSV_BINS[2]
    centre = 0.6
    """Share of each side kept: an item's crop is framed by a little of the counter."""

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """One unit histogram per RGB uint8 image, ``[n, dim]`` float32."""
        for image in images:
            check_image(image)
        rows = [hsv_histogram(image, centre=self.centre) for image in images]
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)
