"""Synthetic checkout videos: product photos carried across a counter, each with its true cart.

Test and benchmark support, not part of the package (tests import it through pytest's
``pythonpath``, benches as a sibling module).

Everything is drawn from a seed, so the same seed always gives the same frames::

    photos = load_photos(dataset_dir, "val.txt")
    video = make_video("same_twice", seed=3, photos=photos, unknown=[])
    frames = list(video.frames())          # BGR uint8, video.size[::-1] + (3,)
    video.true_cart                         # Counter({"Banana": 2})
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ebrcs.checkout.models import EventKind

SCENARIOS = ("single", "sequence", "same_twice", "two_at_once", "roi_in_out", "unknown")
HARD_SCENARIOS = ("zone_middle", "early_first", "same_repeat", "short_rest", "busy")
"""Cases a counter gets wrong most easily: items first seen inside a zone over the middle;
the first item put down within 0.5 s of the first frame; one product put down two or three
times with 0.3-1 s gaps; items resting only 0.3 s; 3-6 items with one thing not sold."""
ROI_BASKET = [(0.62, 0.08), (0.97, 0.08), (0.97, 0.92), (0.62, 0.92)]
"""The zone of the ``roi_in_out`` scenario: the right third of the counter, as a basket."""
ROI_MIDDLE = [(0.15, 0.15), (0.85, 0.15), (0.85, 0.85), (0.15, 0.85)]
"""The zone of the ``zone_middle`` scenario: the middle of the view."""

TRAVEL_SECONDS = 0.7
MIN_DWELL, MAX_DWELL = 0.3, 4.0
ITEM_HEIGHT = 0.32
"""An item's height as a share of the frame height."""


@dataclass(frozen=True)
class ItemPhoto:
    """A dataset photo standing for one physical item, and the product it shows."""

    label: str
    path: Path


@dataclass(frozen=True)
class TrueEvent:
    """What a perfect counter reports: when, what kind, which product."""

    t: float
    kind: EventKind
    label: str


@dataclass(frozen=True)
class ItemTrip:
    """One physical item's way: in from an edge to a resting point, a dwell, out to an edge.

    ``leave_at`` of ``None`` means the item stays where it was put until the video ends.
    """

    photo: ItemPhoto
    enter_at: float
    rest: tuple[float, float]
    """Resting centre, normalised to [0, 1]."""
    dwell: float
    entry_edge: str
    exit_edge: str
    stays: bool = False

    @property
    def arrive_at(self) -> float:
        """When the item reaches its resting point."""
        return self.enter_at + TRAVEL_SECONDS

    @property
    def leave_at(self) -> float | None:
        """When the item starts moving away, or None if it stays."""
        return None if self.stays else self.arrive_at + self.dwell

    @property
    def gone_at(self) -> float:
        """When the item is out of view (infinity if it stays)."""
        leave = self.leave_at
        return math.inf if leave is None else leave + TRAVEL_SECONDS


@dataclass
class CheckoutVideo:
    """A scenario rendered on demand, with the cart and events a perfect counter reports."""

    name: str
    scenario: str
    duration: float
    trips: list[ItemTrip]
    true_events: list[TrueEvent]
    seed: int = 0
    fps: float = 10.0
    size: tuple[int, int] = (640, 360)
    """Frame width and height in pixels."""
    roi: list[tuple[float, float]] | None = None
    light_drift: float = 0.0
    noise_sigma: float = 0.0
    _sprites: dict[Path, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_trips(
        cls,
        trips: Sequence[ItemTrip],
        *,
        unknown_labels: Iterable[str] = (),
        duration: float | None = None,
        name: str = "custom",
        scenario: str = "custom",
        **options: Any,
    ) -> CheckoutVideo:
        """A video of these trips (lasting until the last item is gone, plus half a second)."""
        if duration is None:
            ends = [trip.gone_at if not trip.stays else trip.arrive_at + 1.5 for trip in trips]
            duration = max(ends) + 0.5
        video = cls(
            name=name,
            scenario=scenario,
            duration=duration,
            trips=list(trips),
            true_events=[],
            **options,
        )
        video.true_events = _true_events(video, unknown_labels=set(unknown_labels))
        return video

    @property
    def true_cart(self) -> Counter[str]:
        """Quantity per product once the video ends."""
        cart: Counter[str] = Counter()
        for event in self.true_events:
            if event.kind == EventKind.ADD:
                cart[event.label] += 1
            elif event.kind == EventKind.REMOVE:
                cart[event.label] -= 1
        return +cart

    @property
    def frame_count(self) -> int:
        """How many frames ``frames()`` yields."""
        return round(self.duration * self.fps)

    def frames(self) -> Iterator[np.ndarray]:
        """Render every frame, BGR uint8."""
        rng = np.random.default_rng(self.seed)
        background = counter_background(self.size, rng).astype(np.float32)
        phase = rng.uniform(0, 2 * math.pi)
        for index in range(self.frame_count):
            t = index / self.fps
            frame = background.copy()
            for trip in self.trips:
                centre = self._centre(trip, t)
                if centre is not None:
                    self._paste(frame, self._sprite(trip.photo), centre)
            gain = 1.0 + self.light_drift * math.sin(2 * math.pi * t / 6.0 + phase)
            frame *= gain
            if self.noise_sigma:
                frame += rng.normal(0.0, self.noise_sigma, frame.shape).astype(np.float32)
            yield np.clip(frame, 0, 255).astype(np.uint8)

    def _sprite(self, photo: ItemPhoto) -> np.ndarray:
        """The photo as a BGRA sprite with rounded corners, sized for this frame height."""
        if photo.path not in self._sprites:
            image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
            if image is None:
                raise FileNotFoundError(photo.path)
            height = round(self.size[1] * ITEM_HEIGHT)
            width = round(image.shape[1] * height / image.shape[0])
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            alpha = np.zeros((height, width), np.uint8)
            radius = min(width, height) // 6
            cv2.rectangle(alpha, (radius, 0), (width - radius, height), 255, -1)
            cv2.rectangle(alpha, (0, radius), (width, height - radius), 255, -1)
            for x, y in ((radius, radius), (width - radius, radius)):
                cv2.circle(alpha, (x, y), radius, 255, -1)
                cv2.circle(alpha, (x, height - radius), radius, 255, -1)
            self._sprites[photo.path] = np.dstack([image, cv2.GaussianBlur(alpha, (3, 3), 0)])
        return self._sprites[photo.path]

    def _centre(self, trip: ItemTrip, t: float) -> tuple[float, float] | None:
        """The item's centre in pixels at time ``t``, or None while it is out of view."""
        if t < trip.enter_at or t >= trip.gone_at:
            return None
        width, height = self.size
        rest = (trip.rest[0] * width, trip.rest[1] * height)
        leave = trip.leave_at
        if t < trip.arrive_at:
            start, end, share = (
                _off_edge(trip.entry_edge, rest, self.size),
                rest,
                (t - trip.enter_at) / TRAVEL_SECONDS,
            )
        elif leave is None or t < leave:
            # A hand never holds perfectly still: a small, slow wobble around the resting point.
            wobble = 2.0 * math.sin(2 * math.pi * 1.3 * t)
            return rest[0] + wobble, rest[1] - wobble
        else:
            start, end, share = (
                rest,
                _off_edge(trip.exit_edge, rest, self.size),
                (t - leave) / TRAVEL_SECONDS,
            )
        eased = 0.5 - 0.5 * math.cos(math.pi * min(max(share, 0.0), 1.0))
        return start[0] + (end[0] - start[0]) * eased, start[1] + (end[1] - start[1]) * eased

    @staticmethod
    def _paste(frame: np.ndarray, sprite: np.ndarray, centre: tuple[float, float]) -> None:
        """Alpha-blend ``sprite`` centred at ``centre``, clipped to the frame."""
        sprite_h, sprite_w = sprite.shape[:2]
        left, top = round(centre[0] - sprite_w / 2), round(centre[1] - sprite_h / 2)
        x0, y0 = max(left, 0), max(top, 0)
        x1, y1 = min(left + sprite_w, frame.shape[1]), min(top + sprite_h, frame.shape[0])
        if x0 >= x1 or y0 >= y1:
            return
        part = sprite[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float32)
        alpha = part[:, :, 3:] / 255.0
        region = frame[y0:y1, x0:x1]
        region[:] = region * (1 - alpha) + part[:, :, :3] * alpha


def _off_edge(edge: str, rest: tuple[float, float], size: tuple[int, int]) -> tuple[float, float]:
    """A point just outside ``edge`` in line with ``rest``, where an item enters or leaves."""
    width, height = size
    outside = ITEM_HEIGHT * height
    return {
        "left": (-outside, rest[1]),
        "right": (width + outside, rest[1]),
        "top": (rest[0], -outside),
        "bottom": (rest[0], height + outside),
    }[edge]


def counter_background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A checkout counter: a muted colour, a low-frequency mottle, fine grain and a few seams."""
    width, height = size
    base = rng.uniform(90, 170, 3)
    mottle = cv2.resize(
        rng.normal(0, 14, (max(height // 40, 2), max(width // 40, 2))).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    grain = cv2.GaussianBlur(rng.normal(0, 6, (height, width)).astype(np.float32), (3, 3), 0)
    image = base[None, None, :] + (mottle + grain)[:, :, None]
    for _ in range(3):
        y = int(rng.integers(0, height))
        image[y : y + 2] *= 0.8
    return np.clip(image, 0, 255).astype(np.uint8)


def load_photos(dataset_dir: Path, split: str) -> list[ItemPhoto]:
    """Photos of a split file (``train.txt``/``val.txt``), labelled with their product's name."""
    names = {}
    for line in (dataset_dir / "classes.csv").read_text().splitlines()[1:]:
        parts = line.split(",")
        names[parts[1].strip()] = parts[0].strip()
    photos = []
    for line in (dataset_dir / split).read_text().splitlines():
        if line.strip():
            path, fine, _coarse = (part.strip() for part in line.split(","))
            photos.append(ItemPhoto(label=names[fine], path=dataset_dir / path))
    return photos


def make_video(
    scenario: str,
    *,
    seed: int,
    photos: Sequence[ItemPhoto],
    unknown: Sequence[ItemPhoto] = (),
    size: tuple[int, int] = (640, 360),
    fps: float = 10.0,
) -> CheckoutVideo:
    """Build one scenario's video from ``photos`` (catalogue products) and ``unknown`` ones."""
    if scenario not in SCENARIOS + HARD_SCENARIOS:
        raise ValueError(
            f"unknown scenario {scenario!r}; choose one of {SCENARIOS + HARD_SCENARIOS}"
        )
    rng = np.random.default_rng(seed)

    def pick(pool: Sequence[ItemPhoto], exclude: Iterable[str] = ()) -> ItemPhoto:
        banned = set(exclude)
        choices = [photo for photo in pool if photo.label not in banned]
        return choices[int(rng.integers(len(choices)))]

    def dwell() -> float:
        return float(rng.uniform(MIN_DWELL, MAX_DWELL))

    def edge() -> str:
        return str(rng.choice(["left", "right", "bottom"]))

    def lane(x_range: tuple[float, float] = (0.3, 0.55)) -> tuple[float, float]:
        return float(rng.uniform(*x_range)), float(rng.uniform(0.4, 0.6))

    trips: list[ItemTrip] = []
    roi = None
    t = 0.4
    if scenario in ("single", "sequence", "unknown"):
        count = {"single": 1, "sequence": 3, "unknown": 2}[scenario]
        chosen: list[ItemPhoto] = []
        for index in range(count):
            if scenario == "unknown" and index == int(seed % 2):
                photo = pick(unknown)
            else:
                photo = pick(photos, exclude=(p.label for p in chosen))
            chosen.append(photo)
            trip = ItemTrip(photo, t, lane(), dwell(), edge(), edge())
            trips.append(trip)
            t = trip.gone_at + float(rng.uniform(0.3, 1.0))
    elif scenario == "same_twice":
        photo = pick(photos)
        for _ in range(2):
            # The second item follows the first closely, through the same edges.
            trip = ItemTrip(photo, t, lane(), dwell(), "left", "right")
            trips.append(trip)
            t = trip.gone_at + float(rng.uniform(0.2, 0.5))
    elif scenario == "two_at_once":
        first = pick(photos)
        second = pick(photos, exclude=[first.label]) if seed % 3 else first
        a = ItemTrip(first, t, (float(rng.uniform(0.2, 0.4)), 0.27), dwell(), "left", "top")
        b_enter = t + float(rng.uniform(0.0, 0.6))
        b_rest = (float(rng.uniform(0.6, 0.8)), 0.73)
        b = ItemTrip(second, b_enter, b_rest, max(dwell(), a.gone_at - b_enter), "right", "bottom")
        trips = [a, b]
        t = max(a.gone_at, b.gone_at)
    elif scenario == "zone_middle":
        roi = ROI_MIDDLE
        chosen = []
        for index in range(int(rng.integers(2, 4))):
            photo = pick(photos, exclude=(p.label for p in chosen))
            chosen.append(photo)
            rest = (0.3 + 0.2 * index, float(rng.uniform(0.4, 0.6)))
            trips.append(ItemTrip(photo, t, rest, 0.0, edge(), edge(), stays=True))
            t = trips[-1].arrive_at + float(rng.uniform(0.3, 1.0))
        t += 1.0
    elif scenario == "early_first":
        # In view from the first frame, put down within 0.5 s of it.
        first = pick(photos)
        start = -float(rng.uniform(0.25, TRAVEL_SECONDS - 0.25))
        trips.append(ItemTrip(first, start, lane(), dwell(), edge(), edge()))
        t = trips[-1].gone_at + float(rng.uniform(0.3, 1.0))
        second = pick(photos, exclude=[first.label])
        trips.append(ItemTrip(second, t, lane(), dwell(), edge(), edge()))
        t = trips[-1].gone_at
    elif scenario in ("same_repeat", "short_rest"):
        repeat = scenario == "same_repeat"
        photo = pick(photos)
        chosen = []
        for _ in range(int(rng.integers(2, 4))):
            if not repeat:
                photo = pick(photos, exclude=(p.label for p in chosen))
                chosen.append(photo)
            rest_for = dwell() if repeat else MIN_DWELL
            trips.append(ItemTrip(photo, t, lane(), rest_for, edge(), edge()))
            t = trips[-1].gone_at + float(rng.uniform(0.3, 1.0))
    elif scenario == "busy":
        count = int(rng.integers(3, 7))
        odd_one = int(rng.integers(count)) if unknown else -1
        for index in range(count):
            photo = pick(unknown) if index == odd_one else pick(photos)
            trips.append(ItemTrip(photo, t, lane(), dwell(), edge(), edge()))
            t = trips[-1].gone_at + float(rng.uniform(0.3, 1.0))
    else:
        roi = ROI_BASKET
        taken_back = pick(photos)
        kept = pick(photos, exclude=[taken_back.label])
        a = ItemTrip(taken_back, t, (0.8, 0.3), dwell(), "left", "left")
        b_enter = a.gone_at + float(rng.uniform(0.3, 0.8))
        b = ItemTrip(kept, b_enter, (0.8, 0.68), 0.0, "left", "left", stays=True)
        trips = [a, b]
        t = b.arrive_at + float(rng.uniform(1.0, 2.0))
    return CheckoutVideo.from_trips(
        trips,
        name=f"{scenario}-{seed}",
        scenario=scenario,
        seed=seed,
        fps=fps,
        size=size,
        duration=t + 0.5,
        roi=roi,
        light_drift=float(rng.uniform(0.0, 0.08)),
        noise_sigma=float(rng.uniform(1.0, 4.0)),
        unknown_labels={photo.label for photo in unknown},
    )


def _true_events(video: CheckoutVideo, *, unknown_labels: set[str]) -> list[TrueEvent]:
    """Events of a perfect counter: one per trip (scan zone) or per zone crossing (ROI)."""
    events = []
    for trip in video.trips:
        label = trip.photo.label
        if label in unknown_labels:
            events.append(TrueEvent(trip.arrive_at, EventKind.UNRECOGNISED, label))
        elif video.roi is None:
            events.append(TrueEvent(trip.arrive_at, EventKind.ADD, label))
        else:
            events.extend(_zone_crossings(video, trip))
    return sorted(events, key=lambda event: event.t)


def _zone_crossings(video: CheckoutVideo, trip: ItemTrip) -> list[TrueEvent]:
    """ADD when the trip's centre enters the ROI, REMOVE when it leaves it again."""
    polygon = np.array(video.roi, np.float32) * np.array(video.size, np.float32)
    events, inside = [], False
    step = 1.0 / video.fps
    t = trip.enter_at
    end = min(trip.gone_at, video.duration)
    while t < end:
        centre = video._centre(trip, t)
        now_inside = centre is not None and cv2.pointPolygonTest(polygon, centre, False) >= 0
        if now_inside != inside:
            kind = EventKind.ADD if now_inside else EventKind.REMOVE
            events.append(TrueEvent(t, kind, trip.photo.label))
            inside = now_inside
        t += step
    return events


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write BGR frames as an MPEG-4 part 2 video; returns the number of frames written."""
    writer: cv2.VideoWriter | None = None
    written = 0
    try:
        for frame in frames:
            if writer is None:
                height, width = frame.shape[:2]
                fourcc = cv2.VideoWriter.fourcc(*"mp4v")
                writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
                if not writer.isOpened():
                    raise OSError(f"cannot write a video to {path}")
            writer.write(frame)
            written += 1
    finally:
        if writer is not None:
            writer.release()
    return written


def write_y4m(path: Path, frames_bgr: Iterable[np.ndarray], fps: float) -> int:
    """Write BGR frames as YUV4MPEG2 (I420), the format Chromium's fake camera plays.

    Width and height must be even (4:2:0 halves both). Returns the number of frames written.
    """
    rate = Fraction(fps).limit_denominator(1001)
    written = 0
    with open(path, "wb") as out:
        for frame in frames_bgr:
            height, width = frame.shape[:2]
            if written == 0:
                if width % 2 or height % 2:
                    raise ValueError(f"y4m needs even width and height, got {width}x{height}")
                header = f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator}"
                out.write(f"{header} Ip A1:1 C420jpeg\n".encode("ascii"))
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
            written += 1
    return written
