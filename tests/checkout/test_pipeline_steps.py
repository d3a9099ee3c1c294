"""Each pipeline step on its own: detection, zone, voting, counting, and the video writers."""

from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

from checkout_videos import write_mp4, write_y4m
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import FrameResult, PipelineConfig, TrackedItem
from ebrcs.checkout.pipeline.annotate import KNOWN, UNKNOWN, ZONE, annotate
from ebrcs.checkout.pipeline.count import CountEvent, ItemCounter
from ebrcs.checkout.pipeline.detect import ForegroundDetector
from ebrcs.checkout.pipeline.recognise import (
    AcceptanceRule,
    Identity,
    TrackRecogniser,
    mean_vector,
    vote,
)
from ebrcs.checkout.pipeline.zone import ItemZone
from ebrcs.errors import InvalidInput
from ebrcs.recognition.types import ProductMatch, Recognition

APPLE, PEAR = uuid.UUID(int=1), uuid.UUID(int=2)


def counter_frame(gain: float = 1.0, seed: int = 0) -> np.ndarray:
    """A textured, slightly noisy counter, 320 x 180."""
    rng = np.random.default_rng(seed)
    texture = np.random.default_rng(99).integers(90, 140, (180, 320, 3)).astype(np.float32)
    frame = cv2.GaussianBlur(texture, (5, 5), 0) * gain + rng.normal(0, 2, texture.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def learned_detector() -> ForegroundDetector:
    """A detector that has seen the empty counter for a while."""
    detector = ForegroundDetector.from_config(PipelineConfig(process_width=160))
    for seed in range(20):
        detector.detect(counter_frame(seed=seed))
    return detector


def test_detector_finds_every_moving_item_not_just_the_largest() -> None:
    detector = learned_detector()
    frame = counter_frame(seed=50)
    frame[20:80, 20:70] = (30, 30, 200)
    frame[100:140, 220:260] = (200, 60, 20)
    boxes = sorted(detector.detect(frame).xyxy.round().tolist())
    assert boxes == [[20, 20, 70, 80], [220, 100, 260, 140]]


def test_detector_ignores_slow_light_drift_and_specks() -> None:
    detector = learned_detector()
    frame = counter_frame(gain=1.12, seed=60)
    frame[10:12, 10:12] = 255
    assert len(detector.detect(frame)) == 0


def test_zone_needs_three_points_inside_the_unit_square() -> None:
    with pytest.raises(InvalidInput):
        ItemZone([(0.1, 0.1), (0.9, 0.1)])
    with pytest.raises(InvalidInput):
        ItemZone([(0.1, 0.1), (1.5, 0.1), (0.5, 0.9)])


def test_zone_triggers_on_the_box_centre() -> None:
    zone = ItemZone([(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)])
    boxes = sv.Detections(xyxy=np.array([[100, 0, 170, 50], [140, 0, 200, 50]], float))
    assert zone.trigger(boxes, (320, 180)).tolist() == [False, True]


def recognition(*scores: tuple[uuid.UUID, float], accepted: bool = True) -> Recognition:
    """Ranked matches of one crop; the best accepted or not."""
    matches = [ProductMatch(product, score) for product, score in scores]
    return Recognition(matches, matches[0] if accepted else None)


def test_vote_ranks_products_by_their_mean_score_over_the_crops() -> None:
    crops = [
        recognition((APPLE, 0.9), (PEAR, 0.5)),
        recognition((PEAR, 0.7), (APPLE, 0.65), accepted=False),
        recognition((APPLE, 0.8), (PEAR, 0.6)),
    ]
    ranked = vote(crops)
    assert [match.product_id for match in ranked] == [APPLE, PEAR]
    assert ranked[0].score == pytest.approx((0.9 + 0.65 + 0.8) / 3)


RULE = AcceptanceRule(
    accept_score=0.8, accept_margin=0.05, floor_score=0.5, photo_score=0.95, photo_margin=0.1
)


def test_rule_names_a_clear_leader_above_the_acceptance_score() -> None:
    identity = RULE.judge([ProductMatch(APPLE, 0.9), ProductMatch(PEAR, 0.6)])
    assert identity.accepted and identity.product_id == APPLE


@pytest.mark.parametrize("scores", [(0.75, 0.6), (0.9, 0.87)])
def test_rule_is_unsure_below_the_score_or_the_margin_and_keeps_the_candidates(
    scores: tuple[float, float],
) -> None:
    identity = RULE.judge([ProductMatch(APPLE, scores[0]), ProductMatch(PEAR, scores[1])])
    assert identity.unsure and not identity.accepted
    assert [match.product_id for match in identity.candidates] == [APPLE, PEAR]


def test_rule_names_an_item_nearly_identical_to_one_stored_photo_despite_a_small_lead() -> None:
    ranked = [ProductMatch(APPLE, 0.9, closest=0.97), ProductMatch(PEAR, 0.88, closest=0.8)]
    identity = RULE.judge(ranked)
    assert identity.accepted and identity.product_id == APPLE


@pytest.mark.parametrize(
    "closest",
    [
        (0.94, 0.8),  # the closest photo is not near enough
        (0.97, 0.9),  # another product has a photo nearly as close
        (0.97, None),  # the runner-up's photos were not seen: only the lead decides
    ],
)
def test_rule_leaves_a_small_lead_unsure_unless_one_photo_clearly_matches(
    closest: tuple[float, float | None],
) -> None:
    ranked = [ProductMatch(APPLE, 0.9, closest=closest[0]), ProductMatch(PEAR, 0.88, closest[1])]
    assert RULE.judge(ranked).unsure


def test_rule_calls_anything_below_the_floor_not_a_product() -> None:
    identity = RULE.judge([ProductMatch(APPLE, 0.45), ProductMatch(PEAR, 0.3)])
    assert not identity.is_product and not identity.unsure and identity.candidates == ()


def test_mean_vector_is_the_unit_mean_of_unit_vectors() -> None:
    vectors = np.array([[2.0, 0.0], [0.0, 0.5]], np.float32)
    assert mean_vector(vectors) == pytest.approx(np.array([1.0, 1.0]) / np.sqrt(2))


def counter_for(**options: object) -> ItemCounter:
    """A counter configured as the pipeline would be, with these changes."""
    return ItemCounter.from_config(PipelineConfig(**options))  # type: ignore[arg-type]


def step(
    counter: ItemCounter,
    t: float,
    boxes: dict[int, tuple[float, float, float, float]],
    identities: dict[int, Identity] | None = None,
) -> list[tuple[EventKind, int]]:
    """One frame of tracked boxes (id -> box) into the counter, events as (kind, track)."""
    detections = sv.Detections(
        xyxy=np.array(list(boxes.values()), float).reshape(-1, 4),
        tracker_id=np.array(list(boxes), dtype=int),
    )
    events, _ = counter.update(
        detections, None, identities or {}, timestamp=t, frame_size=(320, 180)
    )
    return [(event.kind, event.track_id) for event in events]


def test_item_found_again_after_being_hidden_is_not_counted_again() -> None:
    counter = counter_for(lost_seconds=0.5, refind_seconds=1.5)
    apple = Identity(APPLE, 0.9, True)
    assert step(counter, 0.0, {1: (100, 50, 160, 110)}, {1: apple}) == [(EventKind.ADD, 1)]
    for t in (0.4, 0.8):  # a hand hides the item; its track ends
        assert step(counter, t, {}) == []
    assert step(counter, 1.2, {2: (104, 52, 164, 112)}, {2: apple}) == []
    assert counter.cart == {APPLE: 1}


def test_item_whose_track_breaks_before_it_times_out_is_not_counted_again() -> None:
    counter = counter_for(lost_seconds=1.0, refind_seconds=1.5)
    apple = Identity(APPLE, 0.9, True)
    assert step(counter, 0.0, {1: (100, 50, 160, 110)}, {1: apple}) == [(EventKind.ADD, 1)]
    assert step(counter, 0.4, {}) == []  # the tracker loses the item for one frame
    assert step(counter, 0.5, {2: (108, 50, 168, 110)}, {2: apple}) == []
    assert counter.cart == {APPLE: 1}


def test_a_track_that_continues_another_ends_that_one() -> None:
    counter = counter_for(lost_seconds=1.0)
    step(counter, 0.0, {1: (100, 50, 160, 110)})
    detections = sv.Detections(
        xyxy=np.array([[104, 50, 164, 110]], float), tracker_id=np.array([2])
    )
    _, ended = counter.update(detections, None, {}, timestamp=0.2, frame_size=(320, 180))
    assert ended == {1}


def test_item_entering_where_the_last_one_left_the_view_is_counted() -> None:
    counter = counter_for(lost_seconds=0.5, refind_seconds=1.5)
    apple = Identity(APPLE, 0.9, True)
    step(counter, 0.0, {1: (100, 50, 160, 110)}, {1: apple})
    step(counter, 0.1, {1: (270, 50, 320, 110)})
    for t in (0.4, 0.8):
        step(counter, t, {})
    assert step(counter, 1.0, {2: (268, 52, 320, 112)}, {2: apple}) == [(EventKind.ADD, 2)]
    assert counter.cart == {APPLE: 2}


def frames(count: int) -> list[np.ndarray]:
    """Distinct small BGR frames."""
    return [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(count)]


def test_y4m_holds_a_header_and_one_i420_picture_per_frame(tmp_path: Path) -> None:
    path = tmp_path / "clip.y4m"
    assert write_y4m(path, frames(3), fps=10) == 3
    data = path.read_bytes()
    header, rest = data.split(b"\n", 1)
    assert header == b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420jpeg"
    picture = 64 * 48 * 3 // 2
    assert len(rest) == 3 * (len(b"FRAME\n") + picture)
    last = rest[-picture:]
    expected = cv2.cvtColor(frames(3)[2], cv2.COLOR_BGR2YUV_I420).tobytes()
    assert last == expected


def test_y4m_refuses_odd_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_y4m(tmp_path / "odd.y4m", [np.zeros((45, 64, 3), np.uint8)], fps=10)


def test_mp4_can_be_read_back(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    assert write_mp4(path, frames(5), fps=10) == 5
    capture = cv2.VideoCapture(str(path))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    capture.release()


def test_item_that_vanishes_into_a_neighbour_just_inside_the_zone_is_counted_at_its_end() -> None:
    """It was carried into the zone and merged with a resting item before the zone held it."""
    counter = counter_for(zone_frames=2, lost_seconds=1.0)
    apple = Identity(APPLE, 0.9, True)

    def seen(t: float, inside: bool) -> list[CountEvent]:
        detections = sv.Detections(
            xyxy=np.array([[100, 50, 160, 110]], float), tracker_id=np.array([1])
        )
        zone = np.array([inside])
        events, _ = counter.update(detections, zone, {}, timestamp=t, frame_size=(320, 180))
        return events

    assert seen(0.0, False) == [] and seen(0.1, True) == []
    empty = sv.Detections.empty()
    empty.tracker_id = np.zeros(0, dtype=int)
    events, ended = counter.update(
        empty, np.zeros(0, bool), {1: apple}, timestamp=1.2, frame_size=(320, 180)
    )
    assert [(event.kind, event.product_id) for event in events] == [(EventKind.ADD, APPLE)]
    assert ended == {1}


def at_rest(box: list[float]) -> sv.Detections:
    """One item at rest (track 1) with this box."""
    return sv.Detections(np.array([box], float), tracker_id=np.array([1]))


def test_item_put_down_touching_a_resting_one_is_detected_apart_from_it() -> None:
    detector = learned_detector()
    resting = counter_frame(seed=70)
    resting[40:100, 60:110] = (30, 30, 200)
    assert detector.detect(resting).xyxy.round().tolist() == [[60, 40, 110, 100]]
    both = resting.copy()
    both[45:105, 110:150] = (200, 60, 20)  # set down against its right side
    found = detector.detect(both, resting=at_rest([60, 40, 110, 100]))
    assert found.xyxy.round().tolist()[0] == [60, 40, 110, 100]
    assert found.data["held"].tolist() == [True, False]
    x0, y0, x1, y1 = found.xyxy[1]
    assert 110 <= x0 <= 116 and abs(x1 - 150) <= 1 and abs(y0 - 45) <= 1 and abs(y1 - 105) <= 1


def test_a_blob_that_is_only_the_resting_item_keeps_its_own_box() -> None:
    detector = learned_detector()
    frame = counter_frame(seed=70)
    frame[40:100, 60:110] = (30, 30, 200)
    found = detector.detect(frame, resting=at_rest([61, 41, 111, 101]))
    assert found.xyxy.round().tolist() == [[60, 40, 110, 100]]
    assert found.data["held"].tolist() == [False]


def test_an_item_lifted_off_its_resting_place_is_not_held_there() -> None:
    detector = learned_detector()
    frame = counter_frame(seed=70)
    frame[40:100, 100:150] = (30, 30, 200)  # it was at x 60-110, now it has moved
    found = detector.detect(frame, resting=at_rest([60, 40, 110, 100]))
    assert found.xyxy.round().tolist() == [[100, 40, 150, 100]]


def test_item_carried_over_a_resting_one_keeps_its_whole_box() -> None:
    detector = learned_detector()
    resting = counter_frame(seed=70)
    resting[40:100, 60:110] = (30, 30, 200)
    detector.detect(resting, resting=at_rest([60, 40, 110, 100]))  # seen alone, at rest
    over = resting.copy()
    over[45:105, 90:140] = (200, 60, 20)  # passing over its right part
    found = detector.detect(over, resting=at_rest([60, 40, 110, 100]))
    assert found.data["held"].tolist() == [True, False]
    assert np.abs(found.xyxy[1] - [90, 45, 140, 105]).max() <= 1


def test_annotation_draws_the_zone_and_each_item_in_the_colour_of_its_outcome() -> None:
    named = TrackedItem((20, 60, 100, 150), 1, APPLE, 0.93)
    unsure = TrackedItem((180, 60, 260, 150), 2, None, None)
    result = FrameResult(detections=[named, unsure], events=[])
    frame = np.full((180, 320, 3), 128, np.uint8)
    drawn = annotate(frame, result, names={APPLE: "Apple"}, roi=[(0, 0), (1, 0), (1, 1)])
    assert frame.max() == frame.min() == 128  # the frame itself is left as it was
    assert drawn[150, 60].tolist() == list(KNOWN.as_bgr())  # bottom edges of the boxes
    assert drawn[150, 220].tolist() == list(UNKNOWN.as_bgr())
    assert drawn[0, 160].tolist() == list(ZONE.as_bgr())  # the zone's top edge


def test_a_blob_over_most_of_the_frame_is_no_item() -> None:
    detector = learned_detector()
    covered = np.zeros((180, 320, 3), np.uint8)  # something held right over the camera
    covered[(np.indices((180, 320)) // 30).sum(axis=0) % 2 == 1] = 230
    assert len(detector.detect(covered)) == 0


def test_unsure_item_taken_back_out_of_the_zone_is_withdrawn_even_through_a_broken_track() -> None:
    counter = counter_for(zone_frames=1, lost_seconds=1.0, refind_seconds=1.5)
    unsure = Identity(APPLE, 0.7, False, candidates=(ProductMatch(APPLE, 0.7),))

    def seen(t: float, track_id: int, inside: bool, identity: Identity | None = None) -> list:
        detections = sv.Detections(
            xyxy=np.array([[100, 50, 160, 110]], float), tracker_id=np.array([track_id])
        )
        identities = {track_id: identity} if identity else {}
        events, _ = counter.update(
            detections, np.array([inside]), identities, timestamp=t, frame_size=(320, 180)
        )
        return [(event.kind, event.product_id, event.withdraws) for event in events]

    assert seen(0.0, 1, True, unsure) == [(EventKind.UNRECOGNISED, None, None)]
    assert seen(0.1, 2, True, unsure) == []  # the tracker broke; the same item goes on
    assert seen(0.2, 2, False) == [(EventKind.REMOVE, None, 1)]
    assert seen(0.3, 2, True) == [(EventKind.UNRECOGNISED, None, None)]  # put back: counted again
    assert counter.cart == {}


class LooksTwice:
    """Unsure of every view until it has been asked twice; counts the views it saw."""

    def __init__(self) -> None:
        self.calls = 0
        self.views = 0

    def recognise(self, images: list[np.ndarray]) -> list[Recognition]:
        self.calls += 1
        self.views += len(images)
        runner_up = 0.89 if self.calls == 1 else 0.5
        matches = [ProductMatch(APPLE, 0.9), ProductMatch(PEAR, runner_up)]
        return [Recognition(matches, None) for _ in images]


def looked_at(
    boxes: list[tuple[int, int, int, int]], held_from: int | None = None
) -> tuple[LooksTwice, list[Identity]]:
    """A track seen still in these boxes, one per frame, over a counter of 320 x 180; from
    frame ``held_from`` on, its box is held (an item at rest that another merged into)."""
    recogniser = LooksTwice()
    rule = AcceptanceRule(
        accept_score=0.8, accept_margin=0.05, floor_score=0.5, photo_score=2.0, photo_margin=0.1
    )
    tracks = TrackRecogniser(
        recogniser,
        rule,
        votes=2,
        retries=1,
        retry_iou=0.85,
        retry_frames=3,
        aggregation="vote",
        border_margin=4.0,
        min_area_share=0.6,
        max_motion=0.3,
    )
    decided = []
    for frame, box in enumerate(boxes):
        detections = sv.Detections(xyxy=np.array([box], float), tracker_id=np.array([1]))
        detections.data["held"] = np.array([held_from is not None and frame >= held_from])
        tracks.observe(detections, counter_frame())
        decided += list(tracks.decide((), {"embedding": 0.0, "search": 0.0}).values())
    return recogniser, decided


@pytest.mark.parametrize("held_from", [None, 3])
def test_an_unsure_item_at_rest_is_settled_without_looking_again_at_the_same_view(
    held_from: int | None,
) -> None:
    resting = (100, 50, 160, 110)
    recogniser, decided = looked_at([resting] * 8, held_from)
    assert recogniser.views == 2  # the first look only
    assert [identity.unsure for identity in decided] == [True]


def test_an_unsure_item_that_moves_is_looked_at_again_and_named() -> None:
    moved = (112, 50, 172, 110)  # a fifth of its width along: overlaps the first view by 0.67
    recogniser, decided = looked_at([(100, 50, 160, 110)] * 3 + [moved] * 2)
    assert recogniser.views == 3
    assert [(identity.accepted, identity.product_id) for identity in decided] == [(True, APPLE)]
