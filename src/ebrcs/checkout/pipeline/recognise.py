"""Recognition per track: the item's best views, recognised together, judged named/unsure/none."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import supervision as sv

from ebrcs.checkout.pipeline.config import PipelineConfig
from ebrcs.checkout.pipeline.recogniser import EmbeddingRecogniser, Recogniser
from ebrcs.recognition.types import ProductMatch, Recognition

CANDIDATES = 5
"""Products an unsure item offers the shopper."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What a track was recognised as.

    *Named* (``accepted``): the product is counted. *Unsure* (not accepted, ``is_product``):
    a real item is counted without a product, offering ``candidates``. *Not a product*
    (``is_product`` False, below the floor): nothing is counted.
    """

    product_id: uuid.UUID | None
    score: float | None
    accepted: bool
    candidates: tuple[ProductMatch, ...] = ()
    """The best products, best first (at most ``CANDIDATES``)."""
    is_product: bool = True

    @property
    def unsure(self) -> bool:
        """A real item, not confidently named."""
        return self.is_product and not self.accepted


@dataclass(frozen=True)
class AcceptanceRule:
    """How a track's ranked products become an identity (thresholds in ``config.py``).

    Named when the best scores at least ``accept_score`` and leads the runner-up by at least
    ``accept_margin``, or when its closest stored photo is nearly the item itself (at least
    ``photo_score``) and clear of every other product's closest photo by ``photo_margin``;
    not a product below ``floor_score``; unsure otherwise.

    >>> a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    >>> rule = AcceptanceRule(
    ...     accept_score=0.8, accept_margin=0.05, floor_score=0.5,
    ...     photo_score=0.95, photo_margin=0.1
    ... )
    >>> rule.judge([ProductMatch(a, 0.9), ProductMatch(b, 0.7)]).accepted
    True
    >>> rule.judge([ProductMatch(a, 0.9), ProductMatch(b, 0.88)]).unsure
    True
    >>> near = ProductMatch(a, 0.9, closest=0.97)
    >>> rule.judge([near, ProductMatch(b, 0.88, closest=0.8)]).accepted
    True
    >>> rule.judge([ProductMatch(a, 0.4)]).is_product
    False
    """

    accept_score: float
    accept_margin: float
    floor_score: float
    photo_score: float
    photo_margin: float

    @classmethod
    def from_config(cls, config: PipelineConfig) -> AcceptanceRule:
        """The rule a pipeline configured by ``config`` judges with."""
        return cls(
            accept_score=config.accept_score,
            accept_margin=config.accept_margin,
            floor_score=config.floor_score,
            photo_score=config.photo_score,
            photo_margin=config.photo_margin,
        )

    def judge(self, ranked: Sequence[ProductMatch]) -> Identity:
        """The identity of a track whose products rank as ``ranked`` (best first)."""
        if not ranked:
            return Identity(None, None, False, (), is_product=False)
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else -1.0
        score = round(float(best.score), 6)
        candidates = tuple(ranked[:CANDIDATES])
        if score < self.floor_score:
            return Identity(best.product_id, score, False, (), is_product=False)
        accepted = (
            score >= self.accept_score and score - runner_up >= self.accept_margin
        ) or self._near_a_photo(ranked)
        return Identity(best.product_id, score, accepted, candidates)

    def _near_a_photo(self, ranked: Sequence[ProductMatch]) -> bool:
        """Whether the best product's closest photo is nearly the item, and no other's is."""
        closests = [match.closest for match in ranked if match.closest is not None]
        if len(closests) < len(ranked) or closests[0] < self.photo_score:
            return False  # a ranking that did not see every product's photos (votes) cannot tell
        return closests[0] - max(closests[1:], default=-1.0) >= self.photo_margin


def vote(recognitions: Sequence[Recognition]) -> list[ProductMatch]:
    """Products ranked by their mean score over the crops (0 where a crop did not rank them).

    >>> a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    >>> seen = [Recognition([ProductMatch(a, .8), ProductMatch(b, .6)], ProductMatch(a, .8)),
    ...         Recognition([ProductMatch(b, .7), ProductMatch(a, .6)], None)]
    >>> [(m.product_id.int, round(m.score, 2)) for m in vote(seen)]
    [(1, 0.7), (2, 0.65)]
    """
    totals: dict[uuid.UUID, float] = defaultdict(float)
    for recognition in recognitions:
        for match in recognition.matches:
            totals[match.product_id] += match.score
    count = max(len(recognitions), 1)
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [ProductMatch(product_id, total / count) for product_id, total in ranked]


def mean_vector(vectors: np.ndarray) -> np.ndarray:
    """The mean of unit vectors, made unit again: one query standing for all the crops."""
    units = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    mean = units.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


@dataclass
class _View:
    """One crop of a track and how good a view it is."""

    crop: np.ndarray
    box: tuple[int, int, int, int]
    area: float
    motion: float
    """How far the box centre moved since the track's previous frame, in box diagonals."""


@dataclass
class _Track:
    """What is kept of one undecided track."""

    views: list[_View] = field(default_factory=list)
    partial: _View | None = None
    """The largest view cut by the frame edge: used only if no clear view ever comes."""
    max_area: float = 0.0
    last_centre: np.ndarray | None = None
    vectors: list[np.ndarray] = field(default_factory=list)
    """Embeddings of views already recognised (mean aggregation keeps them for a retry)."""
    recognitions: list[Recognition] = field(default_factory=list)
    tries: int = 0
    best: _View | None = None
    looked_at: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Boxes of the views already recognised."""
    pending: Identity | None = None
    """An unsure identity waiting for a view that differs, for another try."""
    waited: int = 0
    """Frames seen since ``pending`` was set."""


class TrackRecogniser:
    """Recognises each track from its best views: fully in view, near its largest, still.

    A view is good when the item's box is clear of the frame edge, at least
    ``min_area_share`` of the largest box of the track so far, and moved less than
    ``max_motion`` box diagonals since the previous frame (an item still being carried in,
    or half hidden, is not). Once a track has ``votes`` good views it is recognised: with
    ``aggregation="mean"`` (and a recogniser whose embedding is reachable) the mean of the
    views' unit vectors is searched once; with ``"vote"`` each view is searched and the
    products are ranked by mean score. ``rule`` judges the ranking.

    An unsure track still in view is tried again, up to ``retries`` times, on a later good
    view that differs from every view already looked at (box IoU below ``retry_iou``: the
    item moved or turned); if none comes within ``retry_frames`` frames, or the track ends,
    it is settled as it was judged. A track that ends undecided is decided on what it has.
    """

    def __init__(
        self,
        recogniser: Recogniser,
        rule: AcceptanceRule,
        *,
        votes: int,
        retries: int,
        retry_iou: float,
        retry_frames: int,
        aggregation: str,
        border_margin: float,
        min_area_share: float,
        max_motion: float,
    ) -> None:
        self.recogniser = recogniser
        self.rule = rule
        self.votes = votes
        self.retries = retries
        self.retry_iou = retry_iou
        self.retry_frames = retry_frames
        self.aggregation = aggregation
        self.border_margin = border_margin
        self.min_area_share = min_area_share
        self.max_motion = max_motion
        self._tracks: dict[int, _Track] = {}
        self._decided: set[int] = set()
        self._best: dict[int, np.ndarray] = {}

    def observe(self, detections: sv.Detections, frame_bgr: np.ndarray) -> None:
        """Keep the views of the undecided tracks in this frame.

        A held box (``data["held"]``, an item at rest that another one merged into) is no
        view: what is in it may be the other item passing over it.
        """
        height, width = frame_bgr.shape[:2]
        margin = self.border_margin
        held = detections.data.get("held", np.zeros(len(detections), bool))
        for box, track_id, is_held in zip(
            detections.xyxy, detections.tracker_id, held, strict=True
        ):
            track_id = int(track_id)
            if track_id in self._decided:
                continue
            track = self._tracks.get(track_id)
            if track is not None and track.pending is not None:
                track.waited += 1  # a held box counts too: the item is still there
            if is_held:
                continue
            if track is None:
                track = self._tracks[track_id] = _Track()
            x0, y0, x1, y1 = (round(float(value)) for value in box)
            area = float((x1 - x0) * (y1 - y0))
            if area <= 0:
                continue
            centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
            diagonal = max(float(np.hypot(x1 - x0, y1 - y0)), 1.0)
            motion = (
                1.0
                if track.last_centre is None
                else float(np.hypot(*(centre - track.last_centre))) / diagonal
            )
            track.last_centre = centre
            clear = x0 > margin and y0 > margin and x1 < width - margin and y1 < height - margin
            if not clear:
                if track.partial is None or area > track.partial.area:
                    crop = self._crop(frame_bgr, x0, y0, x1, y1)
                    track.partial = _View(crop, (x0, y0, x1, y1), area, motion)
                continue
            track.max_area = max(track.max_area, area)
            still = motion <= self.max_motion
            keep = still and (len(track.views) < 2 * self.votes or area > track.views[-1].area)
            best = track.best is None or (still, area) >= (
                track.best.motion <= self.max_motion,
                track.best.area,
            )
            if not (keep or best):
                continue  # cropping costs: only views that may be used are cut out
            view = _View(self._crop(frame_bgr, x0, y0, x1, y1), (x0, y0, x1, y1), area, motion)
            if best:
                track.best = view
            if keep:
                # The largest few, largest first: the rest would never be chosen.
                track.views = sorted([*track.views, view], key=lambda v: -v.area)
                del track.views[2 * self.votes :]

    def decide(self, ending: Iterable[int], timings: dict[str, float]) -> dict[int, Identity]:
        """Identities of tracks ready to be judged, or ending; one batch for all of them.

        An unsure identity of a track that stays in view and has retries left is held back
        (not returned) until its next try or until it is settled. Adds ``embedding`` and
        ``search`` milliseconds to ``timings``.
        """
        ending = set(ending)
        batch: dict[int, list[_View]] = {}
        identities: dict[int, Identity] = {}
        for track_id, track in list(self._tracks.items()):
            if track_id in self._decided:
                continue
            good = self._good_views(track)
            if track.pending is not None:
                new = [view for view in good if self._differs(track, view)]
                if new:
                    batch[track_id] = new[:1]
                elif track_id in ending or track.waited >= self.retry_frames:
                    self._settle(track_id, track.pending, identities)
            elif len(good) >= self.votes:
                batch[track_id] = good[: self.votes]
            elif track_id in ending:
                seen = track.best or track.partial
                fallback = good or ([seen] if seen is not None else [])
                if fallback or track.vectors or track.recognitions:
                    batch[track_id] = fallback
        if not batch:
            return identities
        for track_id, ranked in self._rank(batch, timings).items():
            track = self._tracks[track_id]
            track.looked_at += [view.box for view in batch[track_id]]
            if track.best is not None:
                self._best[track_id] = track.best.crop
            elif track.partial is not None:
                self._best.setdefault(track_id, track.partial.crop)
            identity = self.rule.judge(ranked)
            track.tries += 1
            track.views = []
            if identity.unsure and track_id not in ending and track.tries <= self.retries:
                track.pending, track.waited = identity, 0  # look again at a view that differs
                continue
            self._settle(track_id, identity, identities)
        return identities

    def _settle(self, track_id: int, identity: Identity, identities: dict[int, Identity]) -> None:
        """Report ``identity`` for the track; it is decided and not looked at again."""
        identities[track_id] = identity
        self._decided.add(track_id)
        del self._tracks[track_id]

    def _differs(self, track: _Track, view: _View) -> bool:
        """Whether the box of ``view`` overlaps each box looked at by less than ``retry_iou``."""
        if not track.looked_at:
            return True
        overlaps = sv.box_iou_batch(np.array([view.box], float), np.array(track.looked_at, float))
        return bool(overlaps.max() < self.retry_iou)

    def best_crop(self, track_id: int) -> np.ndarray | None:
        """The best RGB crop seen of a track (largest clear of the edge), or None."""
        best = self._best.get(track_id)
        if best is not None:
            return best
        track = self._tracks.get(track_id)
        if track is None:
            return None
        view = track.best or track.partial
        return None if view is None else view.crop

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop what is kept for tracks that are over."""
        for track_id in track_ids:
            self._tracks.pop(track_id, None)
            self._best.pop(track_id, None)
            self._decided.discard(track_id)

    def _good_views(self, track: _Track) -> list[_View]:
        """The track's still, clear views near its largest area, largest first."""
        floor = self.min_area_share * track.max_area
        return [view for view in track.views if view.area >= floor]

    @staticmethod
    def _crop(frame_bgr: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        return cv2.cvtColor(frame_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)

    def _rank(
        self, batch: dict[int, list[_View]], timings: dict[str, float]
    ) -> dict[int, list[ProductMatch]]:
        """Each batched track's products, best first, from its new views and earlier ones."""
        images = [view.crop for views in batch.values() for view in views]
        start = time.perf_counter()
        ranked: dict[int, list[ProductMatch]] = {}
        if self.aggregation == "mean" and isinstance(self.recogniser, EmbeddingRecogniser):
            vectors = self.recogniser.embedder.embed(images) if images else np.zeros((0, 0))
            embedded = time.perf_counter()
            queries, order, offset = [], [], 0
            for track_id, views in batch.items():
                track = self._tracks[track_id]
                track.vectors.extend(vectors[offset : offset + len(views)])
                offset += len(views)
                if track.vectors:
                    queries.append(mean_vector(np.stack(track.vectors)))
                    order.append(track_id)
                else:
                    ranked[track_id] = []
            found = self.recogniser.match(np.stack(queries)) if queries else []
            for track_id, recognition in zip(order, found, strict=True):
                ranked[track_id] = list(recognition.matches)
            timings["embedding"] += (embedded - start) * 1000
            timings["search"] += (time.perf_counter() - embedded) * 1000
            return ranked
        recognitions = self.recogniser.recognise(images) if images else []
        timings["embedding"] += (time.perf_counter() - start) * 1000
        offset = 0
        for track_id, views in batch.items():
            track = self._tracks[track_id]
            track.recognitions.extend(recognitions[offset : offset + len(views)])
            offset += len(views)
            ranked[track_id] = vote(track.recognitions)
        return ranked
