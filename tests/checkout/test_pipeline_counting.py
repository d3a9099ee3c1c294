"""Counting semantics of the frame pipeline, on small synthetic videos and a colour recogniser."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from pipeline_fakes import (
    COLOURS_RGB,
    UNKNOWN_RGB,
    ColourRecogniser,
    make_photos,
    product_id,
)

from checkout_videos import ITEM_HEIGHT, ROI_BASKET, CheckoutVideo, ItemPhoto, ItemTrip
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CheckoutPipeline, PipelineConfig
from ebrcs.recognition.types import ProductMatch, Recognition

SIZE = (320, 180)


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, ItemPhoto]:
    """Flat-coloured product photos, known and unknown, by label."""
    made = make_photos(tmp_path, COLOURS_RGB) + make_photos(tmp_path, UNKNOWN_RGB)
    return {photo.label: photo for photo in made}


def run(
    video: CheckoutVideo, *, config: PipelineConfig | None = None, every: int = 1
) -> list[tuple[EventKind, str | None]]:
    """Events the pipeline reports over every ``every``-th frame, as (kind, product label)."""
    names = {product_id(label): label for label in COLOURS_RGB}
    pipeline = CheckoutPipeline(ColourRecogniser(), config or PipelineConfig(), roi=video.roi)
    events = []
    for index, frame in enumerate(video.frames()):
        if index % every == 0:
            result = pipeline.process(frame, index / video.fps)
            events += [(event.kind, names.get(event.product_id)) for event in result.events]
    return events


def trip(photo: ItemPhoto, enter_at: float, **changes: object) -> ItemTrip:
    """An item carried in from the left to the middle and out to the right."""
    values: dict[str, object] = {
        "rest": (0.45, 0.5),
        "dwell": 1.0,
        "entry_edge": "left",
        "exit_edge": "right",
    }
    values.update(changes)
    return ItemTrip(photo, enter_at, **values)  # type: ignore[arg-type]


def video(*trips: ItemTrip, **options: object) -> CheckoutVideo:
    """A small, slightly noisy video of these trips."""
    values: dict[str, object] = {"size": SIZE, "fps": 10.0, "noise_sigma": 2.0}
    values.update(options)
    return CheckoutVideo.from_trips(trips, unknown_labels=UNKNOWN_RGB, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("dwell", [0.3, 4.0])
def test_one_item_is_counted_once_however_long_it_dwells(
    photos: dict[str, ItemPhoto], dwell: float
) -> None:
    events = run(video(trip(photos["Tomato"], 0.5, dwell=dwell)))
    assert events == [(EventKind.ADD, "Tomato")]


def test_second_identical_item_is_counted_twice(photos: dict[str, ItemPhoto]) -> None:
    first = trip(photos["Milk"], 0.5, dwell=0.8)
    second = trip(photos["Milk"], first.gone_at + 0.2, dwell=0.8)
    assert run(video(first, second)) == [(EventKind.ADD, "Milk")] * 2


def test_two_items_in_view_at_once_are_both_counted(photos: dict[str, ItemPhoto]) -> None:
    top = trip(photos["Tomato"], 0.5, rest=(0.3, 0.25), dwell=2.0, exit_edge="top")
    bottom = trip(photos["Cucumber"], 0.7, rest=(0.7, 0.75), dwell=2.0, entry_edge="right")
    events = run(video(top, bottom))
    assert sorted(events) == [(EventKind.ADD, "Cucumber"), (EventKind.ADD, "Tomato")]


def test_item_put_into_the_zone_and_taken_out_is_added_then_removed(
    photos: dict[str, ItemPhoto],
) -> None:
    moved = trip(photos["Blueberry"], 0.5, rest=(0.8, 0.5), dwell=1.5, exit_edge="left")
    assert run(video(moved, roi=ROI_BASKET)) == [
        (EventKind.ADD, "Blueberry"),
        (EventKind.REMOVE, "Blueberry"),
    ]


def test_taking_an_item_out_of_the_zone_can_be_configured_to_keep_it(
    photos: dict[str, ItemPhoto],
) -> None:
    moved = trip(photos["Blueberry"], 0.5, rest=(0.8, 0.5), dwell=1.5, exit_edge="left")
    config = PipelineConfig(remove_on_exit=False)
    assert run(video(moved, roi=ROI_BASKET), config=config) == [(EventKind.ADD, "Blueberry")]


def test_item_that_stays_outside_the_zone_is_not_counted(photos: dict[str, ItemPhoto]) -> None:
    passing = trip(photos["Tomato"], 0.5, rest=(0.3, 0.5), dwell=1.0, exit_edge="left")
    kept = trip(photos["Milk"], passing.gone_at + 0.3, rest=(0.8, 0.5), stays=True)
    assert run(video(passing, kept, roi=ROI_BASKET)) == [(EventKind.ADD, "Milk")]


def test_unknown_item_is_reported_unrecognised_and_not_counted(
    photos: dict[str, ItemPhoto],
) -> None:
    events = run(video(trip(photos["Mystery"], 0.5, dwell=2.0)))
    assert [kind for kind, _ in events] == [EventKind.UNRECOGNISED]


def test_items_are_counted_once_when_frames_are_dropped(photos: dict[str, ItemPhoto]) -> None:
    first = trip(photos["Tomato"], 0.5, dwell=3.0)
    second = trip(photos["Cucumber"], first.gone_at + 0.5, dwell=0.5)
    assert run(video(first, second, fps=20.0), every=3) == [
        (EventKind.ADD, "Tomato"),
        (EventKind.ADD, "Cucumber"),
    ]


@pytest.mark.parametrize(("spacing", "gap"), [(0.1, 0.3), (0.1, 0.5), (0.03, 0.3)])
def test_item_set_down_behind_a_slow_frame_is_counted_once(
    photos: dict[str, ItemPhoto], spacing: float, gap: float
) -> None:
    """Frames are stamped on arrival: a recognising frame delays the next by ``gap`` seconds."""
    names = {product_id(label): label for label in COLOURS_RGB}
    carried = trip(photos["Tomato"], 0.5, dwell=2.0)
    clip = video(carried)
    set_down = math.ceil(carried.arrive_at * clip.fps)
    pipeline = CheckoutPipeline(ColourRecogniser(), PipelineConfig())
    events, timestamp = [], 0.0
    for index, frame in enumerate(clip.frames()):
        timestamp += gap if index == set_down else spacing
        result = pipeline.process(frame, timestamp)
        events += [(event.kind, names.get(event.product_id)) for event in result.events]
    assert events == [(EventKind.ADD, "Tomato")]


def test_added_item_carries_its_best_crop(photos: dict[str, ItemPhoto]) -> None:
    pipeline = CheckoutPipeline(ColourRecogniser(), PipelineConfig())
    clip = video(trip(photos["Tomato"], 0.5, dwell=2.0))
    events = [e for i, f in enumerate(clip.frames()) for e in pipeline.process(f, i / 10).events]
    (added,) = events
    crop = added.crop_rgb
    assert crop is not None and crop.dtype == np.uint8
    item_height = SIZE[1] * ITEM_HEIGHT  # the whole item, not a part cut by the frame edge
    assert abs(crop.shape[0] - item_height) <= 3
    centre = crop[
        crop.shape[0] // 4 : -crop.shape[0] // 4, crop.shape[1] // 4 : -crop.shape[1] // 4
    ]
    assert np.abs(np.median(centre.reshape(-1, 3), axis=0) - COLOURS_RGB["Tomato"]).max() < 30


def test_events_carry_the_track_and_the_time_of_the_frame(photos: dict[str, ItemPhoto]) -> None:
    pipeline = CheckoutPipeline(ColourRecogniser(), PipelineConfig())
    clip = video(trip(photos["Tomato"], 0.5, dwell=2.0))
    results = [pipeline.process(frame, i / clip.fps) for i, frame in enumerate(clip.frames())]
    (added,) = [(i, event) for i, result in enumerate(results) for event in result.events]
    frame_index, event = added
    assert event.timestamp == frame_index / clip.fps
    assert event.product_id == product_id("Tomato") and 0.8 <= event.score <= 1.0
    tracked = results[frame_index].detections
    assert [item.track_id for item in tracked] == [event.track_id]
    assert tracked[0].product_id == product_id("Tomato")
    assert set(results[frame_index].timings_ms) == {
        "background",
        "tracking",
        "embedding",
        "search",
        "total",
    }


MIDDLE = [(0.15, 0.15), (0.85, 0.15), (0.85, 0.85), (0.15, 0.85)]


@pytest.mark.parametrize("edge", ["left", "bottom"])
def test_item_first_seen_inside_a_zone_over_the_middle_is_counted(
    photos: dict[str, ItemPhoto], edge: str
) -> None:
    put_down = trip(photos["Tomato"], 0.5, rest=(0.5, 0.5), entry_edge=edge, stays=True)
    assert run(video(put_down, roi=MIDDLE)) == [(EventKind.ADD, "Tomato")]


def test_first_item_put_down_within_half_a_second_of_the_first_frame_is_counted(
    photos: dict[str, ItemPhoto],
) -> None:
    early = trip(photos["Cucumber"], -0.35, dwell=1.0)  # in view from the first frame
    later = trip(photos["Tomato"], early.gone_at + 0.5, dwell=1.0)
    assert early.arrive_at < 0.5
    assert run(video(early, later)) == [(EventKind.ADD, "Cucumber"), (EventKind.ADD, "Tomato")]


@pytest.mark.parametrize("gaps", [(0.3, 0.3), (0.5, 1.0)])
def test_same_product_put_down_three_times_with_short_gaps_counts_three(
    photos: dict[str, ItemPhoto], gaps: tuple[float, float]
) -> None:
    first = trip(photos["Milk"], 0.5, dwell=0.6)
    second = trip(photos["Milk"], first.gone_at + gaps[0], dwell=0.4, exit_edge="left")
    third = trip(photos["Milk"], second.gone_at + gaps[1], dwell=0.8, entry_edge="bottom")
    assert run(video(first, second, third)) == [(EventKind.ADD, "Milk")] * 3


class RecordingRecogniser(ColourRecogniser):
    """The colour recogniser, keeping the size of every crop it is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, int]] = []

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        self.shapes += [image.shape[:2] for image in images]
        return super().recognise(images)


def test_item_resting_0_3_s_is_recognised_from_views_fully_in_view(
    photos: dict[str, ItemPhoto],
) -> None:
    recogniser = RecordingRecogniser()
    pipeline = CheckoutPipeline(recogniser, PipelineConfig())
    clip = video(trip(photos["Blueberry"], 0.5, dwell=0.3))
    events = [e for i, f in enumerate(clip.frames()) for e in pipeline.process(f, i / 10).events]
    assert [(event.kind, event.product_id) for event in events] == [
        (EventKind.ADD, product_id("Blueberry"))
    ]
    item_height = SIZE[1] * ITEM_HEIGHT
    assert recogniser.shapes and all(abs(h - item_height) <= 3 for h, _ in recogniser.shapes)


class HesitantRecogniser(ColourRecogniser):
    """Sees the product, but its first views leave the runner-up close behind."""

    def recognise(self, images: Sequence[np.ndarray]) -> list[Recognition]:
        first_look = self.calls == 0
        results = super().recognise(images)
        if not first_look:
            return results
        return [
            Recognition(
                [
                    ProductMatch(r.matches[0].product_id, 0.9),
                    ProductMatch(r.matches[1].product_id, 0.89),
                ],
                None,
            )
            for r in results
        ]


@pytest.mark.parametrize(("retries", "named"), [(2, True), (0, False)])
def test_an_unsure_item_still_in_view_is_tried_again_on_later_views(
    photos: dict[str, ItemPhoto], retries: int, named: bool
) -> None:
    config = PipelineConfig(retries=retries, accept_score=0.8, accept_margin=0.05, floor_score=0.5)
    pipeline = CheckoutPipeline(HesitantRecogniser(), config)
    clip = video(trip(photos["Tomato"], 0.5, dwell=2.0))
    events = [e for i, f in enumerate(clip.frames()) for e in pipeline.process(f, i / 10).events]
    (event,) = events
    assert (event.kind == EventKind.ADD) is named
    assert event.unsure is not named
    if not named:
        assert event.candidates[0].product_id == product_id("Tomato")
        assert event.crop_rgb is not None


@pytest.mark.parametrize("roi", [None, MIDDLE])
def test_items_set_down_touching_each_other_are_each_counted_and_named(
    photos: dict[str, ItemPhoto], roi: list[tuple[float, float]] | None
) -> None:
    """Each is carried in from the left past the ones resting, and put down against the last."""
    width = 48 * SIZE[1] * ITEM_HEIGHT / 60 / SIZE[0]  # an item's width, as a share of the frame
    labels, trips, t = ["Tomato", "Cucumber", "Blueberry"], [], 0.5
    for index, label in enumerate(labels):
        rest = (0.3 + index * width, 0.5)
        trips.append(trip(photos[label], t, rest=rest, entry_edge="left", stays=True))
        t = trips[-1].arrive_at + 0.5
    assert sorted(run(video(*trips, roi=roi))) == [
        (EventKind.ADD, label) for label in sorted(labels)
    ]
