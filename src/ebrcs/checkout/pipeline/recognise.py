"""Recognition per track: crops sampled over a track's life, recognised together, voted on."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import supervision as sv

from ebrcs.checkout.pipeline.recogniser import EmbeddingRecogniser, Recogniser
from ebrcs.recognition.types import Recognition


@dataclass(frozen=True, slots=True)
class Identity:
    """What a track was recognised as: the voted product and whether to trust it."""

    product_id: uuid.UUID | None
    score: float | None
    accepted: bool


def vote(recognitions: Sequence[Recognition], *, min_agreement: float) -> Identity:
    """The product the crops agree on.

    Every crop gives each of its top-k products its score; the product with the largest total
    wins. It is accepted when at least ``min_agreement`` of the crops accepted that very product
    on their own (so the recogniser's threshold and margin still apply), and its score is its
    mean score over the crops that ranked it.

    >>> from ebrcs.recognition.types import ProductMatch
    >>> a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    >>> seen = [Recognition([ProductMatch(a, .8), ProductMatch(b, .6)], ProductMatch(a, .8)),
    ...         Recognition([ProductMatch(b, .7), ProductMatch(a, .6)], None)]
    >>> vote(seen, min_agreement=0.5) == Identity(a, 0.7, True)
    True
    """
    totals: dict[uuid.UUID, float] = defaultdict(float)
    scores: dict[uuid.UUID, list[float]] = defaultdict(list)
    for recognition in recognitions:
        for match in recognition.matches:
            totals[match.product_id] += match.score
            scores[match.product_id].append(match.score)
    if not totals:
        return Identity(None, None, False)
    winner = max(totals, key=lambda product_id: totals[product_id])
    agreeing = sum(
        1
        for recognition in recognitions
        if recognition.accepted is not None and recognition.accepted.product_id == winner
    )
    score = round(float(np.mean(scores[winner])), 6)
    return Identity(winner, score, agreeing >= min_agreement * len(recognitions))


@dataclass
class _Crops:
    """Crops of one track kept for its vote."""

    seen: int = 0
    best_area: float = 0.0
    full: list[np.ndarray] = field(default_factory=list)
    """Crops of the item fully in view."""
    partial: list[tuple[float, np.ndarray]] = field(default_factory=list)
    """Crops cut by the frame edge, with their area: used only if nothing better comes."""


class TrackRecogniser:
    """Collects crops of each track and recognises the track once it has ``votes`` good ones.

    Every ``crop_every``-th sighting of a track is cropped. A crop is good when the item's box
    stays clear of the frame edge and is at least ``min_area_share`` of the largest box seen
    for that track (an item still entering, or half hidden, is not). A track that ends
    before it has ``votes`` good crops is decided on what it has. The best crop of a track
    (the largest clear of the edge, else the largest) is kept until the track is forgotten.
    """

    def __init__(
        self,
        recogniser: Recogniser,
        *,
        votes: int,
        crop_every: int,
        min_agreement: float,
        border_margin: float = 4.0,
        min_area_share: float = 0.6,
    ) -> None:
        self.recogniser = recogniser
        self.votes = votes
        self.crop_every = crop_every
        self.min_agreement = min_agreement
        self.border_margin = border_margin
        self.min_area_share = min_area_share
        self._crops: dict[int, _Crops] = {}
        self._decided: set[int] = set()
        self._best: dict[int, tuple[tuple[bool, float], np.ndarray]] = {}

    def observe(self, detections: sv.Detections, frame_bgr: np.ndarray) -> None:
        """Keep crops of the undecided tracks in this frame."""
        height, width = frame_bgr.shape[:2]
        for box, track_id in zip(detections.xyxy, detections.tracker_id, strict=True):
            track_id = int(track_id)
            if track_id in self._decided:
                continue
            crops = self._crops.setdefault(track_id, _Crops())
            crops.seen += 1
            if (crops.seen - 1) % self.crop_every:
                continue
            x0, y0, x1, y1 = (round(float(value)) for value in box)
            area = float((x1 - x0) * (y1 - y0))
            if area <= 0:
                continue
            crops.best_area = max(crops.best_area, area)
            crop = cv2.cvtColor(frame_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
            margin = self.border_margin
            clear = x0 > margin and y0 > margin and x1 < width - margin and y1 < height - margin
            best = self._best.get(track_id)
            if best is None or (clear, area) > best[0]:
                self._best[track_id] = ((clear, area), crop)
            if clear and area >= self.min_area_share * crops.best_area:
                crops.full.append(crop)
            else:
                crops.partial.append((area, crop))
                crops.partial = sorted(crops.partial, key=lambda item: -item[0])[: self.votes]

    def decide(self, ending: Iterable[int], timings: dict[str, float]) -> dict[int, Identity]:
        """Identities of tracks that have enough crops, or that are ending; one batch for all.

        Adds ``embedding`` and ``search`` milliseconds to ``timings``.
        """
        ending = set(ending)
        batch: dict[int, list[np.ndarray]] = {}
        for track_id, crops in self._crops.items():
            if track_id in self._decided:
                continue
            if len(crops.full) >= self.votes:
                batch[track_id] = crops.full[-self.votes :]
            elif track_id in ending and (crops.full or crops.partial):
                batch[track_id] = (crops.full + [crop for _, crop in crops.partial])[: self.votes]
        if not batch:
            return {}
        images = [crop for crops in batch.values() for crop in crops]
        recognitions = self._recognise(images, timings)
        identities = {}
        start = 0
        for track_id, crops in batch.items():
            identities[track_id] = vote(
                recognitions[start : start + len(crops)], min_agreement=self.min_agreement
            )
            start += len(crops)
            self._decided.add(track_id)
            del self._crops[track_id]
        return identities

    def best_crop(self, track_id: int) -> np.ndarray | None:
        """The best RGB crop seen of a track, or None if none was taken."""
        best = self._best.get(track_id)
        return None if best is None else best[1]

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop what is kept for tracks that are over."""
        for track_id in track_ids:
            self._crops.pop(track_id, None)
            self._best.pop(track_id, None)
            self._decided.discard(track_id)

    def _recognise(self, images: list[np.ndarray], timings: dict[str, float]) -> list[Recognition]:
        """Recognise crops, timing embedding and search apart when the recogniser allows it."""
        start = time.perf_counter()
        if isinstance(self.recogniser, EmbeddingRecogniser):
            vectors = self.recogniser.embedder.embed(images)
            embedded = time.perf_counter()
            recognitions = self.recogniser.match(vectors)
            timings["embedding"] += (embedded - start) * 1000
            timings["search"] += (time.perf_counter() - embedded) * 1000
            return recognitions
        recognitions = self.recogniser.recognise(images)
        timings["embedding"] += (time.perf_counter() - start) * 1000
        return recognitions
