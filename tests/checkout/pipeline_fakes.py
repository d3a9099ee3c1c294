"""Small stand-ins for the pipeline tests: flat-coloured product photos and a colour recogniser."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from checkout_videos import ItemPhoto
from ebrcs.recognition.types import ProductMatch, Recognition

COLOURS_RGB = {
    "Tomato": (220, 30, 30),
    "Cucumber": (30, 180, 40),
    "Milk": (240, 240, 245),
    "Blueberry": (40, 40, 200),
}
UNKNOWN_RGB = {"Mystery": (250, 140, 0)}


def product_id(label: str) -> uuid.UUID:
    """A stable product id per label."""
    return uuid.uuid5(uuid.NAMESPACE_URL, label)


def make_photos(folder: Path, colours: dict[str, tuple[int, int, int]]) -> list[ItemPhoto]:
    """One small photo per colour: the colour with a dark frame and a light stripe."""
    photos = []
    for label, rgb in colours.items():
        image = np.zeros((60, 48, 3), np.uint8)
        image[:] = rgb[::-1]
        cv2.rectangle(image, (0, 0), (47, 59), (20, 20, 20), 3)
        cv2.line(image, (6, 30), (42, 30), (230, 230, 230), 2)
        path = folder / f"{label}.png"
        cv2.imwrite(str(path), image)
        photos.append(ItemPhoto(label=label, path=path))
    return photos


class ColourRecogniser:
    """Recognises a crop by its median colour: close to a known colour means that product."""

    def __init__(self, threshold: float = 0.8) -> None:
        self.threshold = threshold
        self.calls = 0

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        """Ranked matches per crop, the best accepted when it scores above the threshold."""
        self.calls += 1
        results = []
        for image in images:
            height, width = image.shape[:2]
            centre = image[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
            colour = np.median(centre.reshape(-1, 3), axis=0)
            matches = sorted(
                (
                    ProductMatch(
                        product_id(label),
                        max(0.0, 1.0 - float(np.linalg.norm(colour - np.array(rgb))) / 200),
                    )
                    for label, rgb in COLOURS_RGB.items()
                ),
                key=lambda match: -match.score,
            )
            best = matches[0] if matches[0].score >= self.threshold else None
            results.append(Recognition(matches=matches, accepted=best))
        return results
