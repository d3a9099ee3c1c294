"""Live checkout counting: this pipeline, an earlier one and the original's, on synthetic videos.

The catalogue is 3 train photos per product (a few classes held out as "not sold", beside
plain cards that are no product at all); videos carry val photos of those products
(recognition as in a shop) or the registered photos themselves (recognition nearly perfect,
so what is left is counting). Two scenario sets: the standard ones and the hard cases of
issue 13 (items first seen inside a zone over the middle, the first item put down within
0.5 s, one product two or three times in a row, 0.3 s rests, 3-6 items). Every counter sees
the same frames and the same embedder; the original counts the largest moving blob of every
5th frame when its best match scores at least 0.62, at most once a second per product.

Per counter: *named exact* (the named cart is the true cart), *physical count right* (named
+ unsure items = products passed, sold or not; a card is no product), *resolvable exact*
(the named lines are right and every missing unit is among the candidates of its own unsure
item), named precision and recall. ``--before REV`` runs the pipeline of an earlier commit
beside this one (same videos, same run, also for the per-frame cost); ``--variants`` this
pipeline with other settings beside the shipped one (``accept_margin=0.5``,
``retries=0``). ``--distributions``
judges nothing and records each track's aggregated best score and margin, by what the item
really was, on seeds apart from the evaluation's: what the acceptance rule and the floor are
chosen from.

    nice .venv/bin/python bench/checkout_counting.py --before cbe06bc     # ~25 min on 2 cores
    nice .venv/bin/python bench/checkout_counting.py --distributions      # ~8 min
    nice .venv/bin/python bench/checkout_counting.py --videos 12 --quick
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import matplotlib
import numpy as np
import torch

from checkout_videos import (
    HARD_SCENARIOS,
    SCENARIOS,
    CheckoutVideo,
    ItemPhoto,
    load_photos,
    make_video,
    write_mp4,
)
from ebrcs.adaptation import fit_adapter
from ebrcs.catalog.index import RAW_SPACE, ProductIndex, VectorSpace
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CheckoutPipeline, PipelineConfig, still_unsure
from ebrcs.checkout.pipeline.detect import ForegroundDetector
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.registry import load_embedder
from ebrcs.recognition.recogniser import Recogniser

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "grocery-store"
OUT = Path(__file__).resolve().parent / "out"
PHOTOS_PER_PRODUCT = 3
HELD_OUT = 6
"""Classes left out of the catalogue: the objects a shop does not sell."""
CARDS = 4
"""Plain cards (loyalty, payment) passed over the counter: no product at all."""
ORIGINAL_EVERY, ORIGINAL_THRESHOLD, ORIGINAL_COOLDOWN = 5, 0.62, 1.0
VIDEO_SIZE, VIDEO_FPS = (960, 540), 15.0
"""What a counter camera sends (and the videos of issue 13)."""
DISTRIBUTION_SEEDS = 1000
"""Seeds of the distribution videos start here, apart from the evaluation's 0, 1, 2, ..."""


def product_id(label: str) -> uuid.UUID:
    """The benchmark catalogue's id of a product."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"grocery/{label}")


@dataclass
class Catalogue:
    """The registered photos, the held-out classes and a recogniser over them."""

    registered: list[ItemPhoto]
    held_out: set[str]
    recogniser: Recogniser
    names: dict[uuid.UUID, str]


def build_catalogue(embedder: Embedder, settings: Settings, *, adapt: bool = False) -> Catalogue:
    """Register ``PHOTOS_PER_PRODUCT`` train photos of every class but the held-out ones.

    ``adapt``: the index holds the vectors through an adapter fitted on those photos (seed 0),
    as ``ebrcs catalog adapt`` would fit it.
    """
    train = load_photos(DATASET, "train.txt")
    labels = sorted({photo.label for photo in train})
    held_out = set(labels[:: len(labels) // HELD_OUT][:HELD_OUT])
    by_label: dict[str, list[ItemPhoto]] = defaultdict(list)
    for photo in train:
        if photo.label not in held_out and len(by_label[photo.label]) < PHOTOS_PER_PRODUCT:
            by_label[photo.label].append(photo)
    registered = [photo for photos in by_label.values() for photo in photos]
    images = [cv2.cvtColor(cv2.imread(str(p.path)), cv2.COLOR_BGR2RGB) for p in registered]
    space = RAW_SPACE
    if adapt:
        photos = {label: [photo.path for photo in group] for label, group in by_label.items()}
        adapter = fit_adapter(photos, embedder, seed=0)
        space = VectorSpace(tag=adapter.version, transform=adapter.transform, dim=adapter.dim)
    index = ProductIndex(embedder.dim, "flat", embedder_id=embedder.id, space=space)
    index.add(
        np.arange(1, len(registered) + 1),
        embedder.embed(images),
        [product_id(photo.label) for photo in registered],
    )
    recogniser = Recogniser.from_settings(embedder, index, settings)
    names = {product_id(label): label for label in by_label}
    return Catalogue(registered, held_out, recogniser, names)


def make_cards(folder: Path) -> list[ItemPhoto]:
    """Plain cards of a few colours with a stripe and printed-looking lines."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cards = []
    for index in range(CARDS):
        card = np.zeros((300, 480, 3), np.uint8)
        card[:] = rng.integers(40, 230, 3)
        card[60:110] = rng.integers(0, 80, 3)
        for row in range(170, 270, 28):
            cv2.line(card, (40, row), (int(rng.integers(200, 440)), row), (240, 240, 240), 6)
        path = folder / f"card-{index}.png"
        cv2.imwrite(str(path), card)
        cards.append(ItemPhoto(label=f"card-{index}", path=path))
    return cards


def before_pipeline(revision: str) -> Any:
    """The ``ebrcs.checkout.pipeline`` package of an earlier commit, importable beside this one."""
    root = OUT / "before"
    package = root / "pipeline_before"
    package.mkdir(parents=True, exist_ok=True)
    folder = "src/ebrcs/checkout/pipeline/"
    for path in _git("ls-tree", "--name-only", revision, folder).split():
        source = _git("show", f"{revision}:{path}")
        (package / Path(path).name).write_text(
            source.replace("ebrcs.checkout.pipeline", "pipeline_before")
        )
    sys.path.insert(0, str(root))
    return importlib.import_module("pipeline_before")


def _git(*args: str) -> str:
    """The output of a git command run in the repository."""
    return subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout


class OriginalCounting:
    """The original's counting: largest blob, every 5th frame, best score >= threshold, cooldown."""

    def __init__(self, recogniser: Recogniser) -> None:
        self.recogniser = recogniser
        self.detector = ForegroundDetector.from_config(PipelineConfig())
        self.frame = 0
        self.cart: Counter[uuid.UUID] = Counter()
        self.last_counted: dict[uuid.UUID, float] = {}

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> None:
        """Count from one frame."""
        self.frame += 1
        detections = self.detector.detect(frame_bgr)
        if self.frame % ORIGINAL_EVERY or len(detections) == 0:
            return
        areas = (detections.xyxy[:, 2] - detections.xyxy[:, 0]) * (
            detections.xyxy[:, 3] - detections.xyxy[:, 1]
        )
        x0, y0, x1, y1 = (round(float(v)) for v in detections.xyxy[int(np.argmax(areas))])
        crop = cv2.cvtColor(frame_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
        (recognition,) = self.recogniser.recognise([crop])
        if not recognition.matches:
            return
        best = recognition.matches[0]
        if best.score < ORIGINAL_THRESHOLD:
            return
        if timestamp - self.last_counted.get(best.product_id, -np.inf) >= ORIGINAL_COOLDOWN:
            self.cart[best.product_id] += 1
            self.last_counted[best.product_id] = timestamp


@dataclass
class Outcome:
    """What a counter reported for one video: its named cart and its unsure items."""

    named: Counter[str]
    unsure: list[set[str]] = field(default_factory=list)
    """The candidates' names of each unsure item."""


def pipeline_outcome(events: list, names: dict[uuid.UUID, str]) -> Outcome:
    """The named cart and unsure items the pipeline's events add up to."""
    outcome = Outcome(Counter())
    for event in events:
        if event.kind == EventKind.ADD:
            outcome.named[names[event.product_id]] += 1
        elif event.kind == EventKind.REMOVE and event.product_id is not None:
            outcome.named[names[event.product_id]] -= 1
    outcome.named = +outcome.named
    # An earlier commit's pipeline (``--before``) may not withdraw unsure items at all.
    withdrawing = all(hasattr(event, "withdraws") for event in events)
    standing = still_unsure(events) if withdrawing else [e for e in events if e.unsure]
    outcome.unsure = [{names[match.product_id] for match in e.candidates} for e in standing]
    return outcome


def resolvable(missing: Counter[str], unsure: list[set[str]]) -> bool:
    """Whether each missing unit can be given its own unsure item that offers its product."""
    units = list(missing.elements())
    taken: dict[int, int] = {}

    def place(unit: int, seen: set[int]) -> bool:
        for item, candidates in enumerate(unsure):
            if units[unit] in candidates and item not in seen:
                seen.add(item)
                if item not in taken or place(taken[item], seen):
                    taken[item] = unit
                    return True
        return False

    return all(place(unit, set()) for unit in range(len(units)))


@dataclass
class Tally:
    """The five figures of one counter over many videos, overall and per scenario."""

    videos: int = 0
    named_exact: int = 0
    physical_right: int = 0
    resolvable_exact: int = 0
    matched: int = 0
    counted: int = 0
    true: int = 0
    by_scenario: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, scenario: str, outcome: Outcome, true_cart: Counter[str], goods: int) -> None:
        """Score one video's outcome against the truth (``goods``: products passed, sold or not)."""
        named, true_cart = +outcome.named, +true_cart
        exact = named == true_cart
        physical = sum(named.values()) + len(outcome.unsure) == goods
        missing = true_cart - named
        fixable = not (named - true_cart) and resolvable(missing, outcome.unsure)
        self.videos += 1
        self.named_exact += exact
        self.physical_right += physical
        self.resolvable_exact += fixable
        self.matched += sum((named & true_cart).values())
        self.counted += sum(named.values())
        self.true += sum(true_cart.values())
        per = self.by_scenario[scenario]
        per.update(
            videos=1, named_exact=int(exact), physical=int(physical), resolvable=int(fixable)
        )

    def row(self) -> dict[str, float]:
        """The five figures as shares."""
        videos = max(self.videos, 1)
        return {
            "named_exact": self.named_exact / videos,
            "physical_count_right": self.physical_right / videos,
            "resolvable_exact": self.resolvable_exact / videos,
            "named_precision": self.matched / max(self.counted, 1),
            "named_recall": self.matched / max(self.true, 1),
        }


Counters = dict[str, Callable[[Any], Any]]


def run_condition(
    videos: list[CheckoutVideo], catalogue: Catalogue, counters: Counters
) -> dict[str, Tally]:
    """Every counter over every video of one condition."""
    tallies = {name: Tally() for name in [*counters, "original"]}
    for video in videos:
        # A product the shop does not sell is a physical item too (the shopper dismisses it);
        # a card is not.
        not_sold = sum(trip.photo.label in catalogue.held_out for trip in video.trips)
        goods = sum(video.true_cart.values()) + not_sold
        pipelines = {name: make(video.roi) for name, make in counters.items()}
        original = OriginalCounting(catalogue.recogniser)
        events: dict[str, list] = defaultdict(list)
        for index, frame in enumerate(video.frames()):
            timestamp = index / video.fps
            for name, pipeline in pipelines.items():
                events[name] += pipeline.process(frame, timestamp).events
            original.process(frame, timestamp)
        for name in pipelines:
            outcome = pipeline_outcome(events[name], catalogue.names)
            tallies[name].add(video.scenario, outcome, video.true_cart, goods)
        named = Counter({catalogue.names[p]: n for p, n in original.cart.items()})
        tallies["original"].add(video.scenario, Outcome(named), video.true_cart, goods)
    return tallies


def track_scores(
    videos: list[CheckoutVideo], catalogue: Catalogue, config: PipelineConfig
) -> list[dict[str, Any]]:
    """Each settled track's best score and margin, labelled with what the item really was.

    The pipeline judges every track unsure (nothing is accepted, no floor, no retry), so
    every track reports its ranked candidates. A track is labelled with the item whose centre
    is nearest its box when it was decided.
    """
    config = replace(config, accept_score=2.0, photo_score=2.0, floor_score=-2.0, retries=0)
    found = []
    for video in videos:
        pipeline = CheckoutPipeline(catalogue.recogniser, config, video.roi)
        for index, frame in enumerate(video.frames()):
            t = index / video.fps
            result = pipeline.process(frame, t)
            boxes = {item.track_id: item.box for item in result.detections}
            for event in result.events:
                if not event.candidates:
                    continue
                label = _item_at(video, t, boxes.get(event.track_id))
                ranked = event.candidates
                best_label = catalogue.names[ranked[0].product_id]
                runner_up = ranked[1].score if len(ranked) > 1 else 0.0
                closest = ranked[0].closest or 0.0
                other_photo = max((m.closest or 0.0 for m in ranked[1:]), default=0.0)
                found.append(
                    {
                        "scenario": video.scenario,
                        "label": label,
                        "kind": _kind(label, catalogue),
                        "top1_right": best_label == label,
                        "in_top5": label in {catalogue.names[m.product_id] for m in ranked},
                        "score": ranked[0].score,
                        "margin": ranked[0].score - runner_up,
                        "photo": closest,
                        "photo_margin": closest - other_photo,
                    }
                )
    return found


def _item_at(video: CheckoutVideo, t: float, box: Sequence[float] | None) -> str | None:
    """The label of the item nearest ``box`` at time ``t`` (None: nothing there)."""
    if box is None:
        return None
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    diagonal = float(np.hypot(box[2] - box[0], box[3] - box[1]))
    best, distance = None, np.inf
    for trip in video.trips:
        where = video._centre(trip, t)
        if where is not None and (d := float(np.hypot(*(np.array(where) - centre)))) < distance:
            best, distance = trip.photo.label, d
    return best if distance <= diagonal / 2 else None


def _kind(label: str | None, catalogue: Catalogue) -> str:
    if label is None:
        return "nothing"
    if label.startswith("card-"):
        return "card"
    return "not sold" if label in catalogue.held_out else "product"


def summarise_scores(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles of best score and margin per kind of item, and the rule grid."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in scores:
        key = row["kind"]
        if key == "product":
            key = "product, top-1 right" if row["top1_right"] else "product, top-1 wrong"
        groups[key].append(row)
    percentiles = (5, 25, 50, 75, 95)
    table = {
        key: {
            "tracks": len(rows),
            **{
                figure: [
                    round(float(np.percentile([r[figure] for r in rows], p)), 3)
                    for p in percentiles
                ]
                for figure in ("score", "margin", "photo", "photo_margin")
            },
        }
        for key, rows in sorted(groups.items())
    }
    products = [r for r in scores if r["kind"] == "product"]
    grid = []
    for accept in np.arange(0.60, 0.96, 0.02):
        for margin in (0.0, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08):
            named = [r for r in products if r["score"] >= accept and r["margin"] >= margin]
            right = sum(r["top1_right"] for r in named)
            grid.append(
                {
                    "accept": round(float(accept), 2),
                    "margin": margin,
                    "named_share": len(named) / max(len(products), 1),
                    "named_precision": right / max(len(named), 1),
                }
            )
    return {"percentiles": list(percentiles), "by_kind": table, "rule_grid": grid, "tracks": scores}


def measure_cost(
    catalogue: Catalogue, counters: Counters, known: list[ItemPhoto], unknown: list[ItemPhoto]
) -> dict[str, dict[str, float]]:
    """Per-frame cost at 960 px of each pipeline: decoding, then every pipeline step."""
    clips = [
        make_video(s, seed=100 + i, photos=known, unknown=unknown, size=(960, 540))
        for i, s in enumerate(("sequence", "two_at_once", "same_twice", "busy"))
    ]
    frames = [frame for clip in clips for frame in clip.frames()]
    path = OUT / "checkout_960.mp4"
    write_mp4(path, frames, fps=10)
    capture = cv2.VideoCapture(str(path))
    decoded, start = 0, time.perf_counter()
    while capture.read()[0]:
        decoded += 1
    mp4_decode = (time.perf_counter() - start) * 1000 / max(decoded, 1)
    capture.release()
    jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 80])[1] for f in frames[:100]]
    start = time.perf_counter()
    for data in jpegs:
        cv2.imdecode(data, cv2.IMREAD_COLOR)
    jpeg_decode = (time.perf_counter() - start) * 1000 / len(jpegs)
    costs = {}
    for name, make in counters.items():
        steps: dict[str, list[float]] = defaultdict(list)
        for clip in clips:
            pipeline = make(clip.roi)
            for index, frame in enumerate(clip.frames()):
                for step, ms in pipeline.process(frame, index / clip.fps).timings_ms.items():
                    steps[step].append(ms)
        totals = np.array(steps["total"])
        per_frame = jpeg_decode + float(totals.mean())
        costs[name] = {
            "frames": len(totals),
            "decode_mp4_ms": mp4_decode,
            "decode_jpeg_ms": jpeg_decode,
            **{f"{step}_ms": float(np.mean(values)) for step, values in steps.items()},
            "total_p50_ms": float(np.percentile(totals, 50)),
            "total_p95_ms": float(np.percentile(totals, 95)),
            "total_p99_ms": float(np.percentile(totals, 99)),
            "embedding_frames_share": float(np.mean(np.array(steps["embedding"]) > 0)),
            "total_max_ms": float(totals.max()),
            "sustained_fps": 1000 / per_frame,
        }
    return costs


def plot(results: dict, path: Path) -> None:
    """The five figures per counter, condition and scenario set."""
    figure, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for axis, (condition, rows) in zip(axes[0], results.items(), strict=True):
        names = list(rows)
        figures = list(next(iter(rows.values())))
        positions = np.arange(len(figures))
        width = 0.8 / len(names)
        for offset, name in enumerate(names):
            values = [rows[name][f] for f in figures]
            axis.bar(positions + offset * width, values, width, label=name)
        axis.set_xticks(
            positions + 0.4 - width / 2, [f.replace("_", "\n") for f in figures], fontsize=7
        )
        axis.set_ylim(0, 1.05)
        axis.set_title(condition, fontsize=9)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def videos_for(
    scenarios: Sequence[str],
    count: int,
    photos: list[ItemPhoto],
    unknown: list[ItemPhoto],
    first_seed: int = 0,
) -> list[CheckoutVideo]:
    """``count`` videos cycling through ``scenarios``, one seed each, at 960x540 and 15 fps."""
    return [
        make_video(
            scenarios[seed % len(scenarios)],
            seed=first_seed + seed,
            photos=photos,
            unknown=unknown,
            size=VIDEO_SIZE,
            fps=VIDEO_FPS,
        )
        for seed in range(count)
    ]


def print_table(title: str, tallies: dict[str, Tally]) -> None:
    """One condition's figures, then per scenario."""
    print(f"\n{title}")
    print(
        f"{'counter':<12}{'named exact':>12}{'physical':>10}{'resolvable':>11}"
        f"{'precision':>10}{'recall':>8}"
    )
    for name, tally in tallies.items():
        row = tally.row()
        print(
            f"{name:<12}{row['named_exact']:>12.2f}{row['physical_count_right']:>10.2f}"
            f"{row['resolvable_exact']:>11.2f}{row['named_precision']:>10.2f}"
            f"{row['named_recall']:>8.2f}"
        )
    for name, tally in tallies.items():
        cells = [
            f"{s} {c['named_exact']}/{c['physical']}/{c['resolvable']} of {c['videos']}"
            for s, c in sorted(tally.by_scenario.items())
        ]
        print(f"  {name:<10} (named/physical/resolvable) " + "  ".join(cells))


def changed(config: PipelineConfig, changes: str) -> PipelineConfig:
    """``config`` with ``field=value,...`` applied, each value read as the field's type."""
    values: dict[str, Any] = {}
    for change in changes.split(","):
        name, _, value = change.partition("=")
        kind = type(getattr(config, name))
        values[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return replace(config, **values)


def main() -> None:
    """Run every condition and scenario set, and the cost; print tables, write JSON and PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=24, help="videos per condition and set")
    parser.add_argument("--quick", action="store_true", help="skip the 960 px cost run")
    parser.add_argument("--before", metavar="REV", help="also run the pipeline of this commit")
    parser.add_argument("--distributions", action="store_true", help="record track scores instead")
    parser.add_argument("--votes", type=int, help="views a track is recognised from")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE[,...]",
        help="also run the pipeline with these PipelineConfig changes, e.g. accept_margin=0.5",
    )
    parser.add_argument(
        "--adapter", action="store_true", help="search through an adapter fitted on the catalogue"
    )
    parser.add_argument(
        "--aggregations", nargs="+", default=["mean", "vote"], help="with --distributions"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    started = time.perf_counter()
    embedder = load_embedder(settings)
    catalogue = build_catalogue(embedder, settings, adapt=args.adapter)
    val = load_photos(DATASET, "val.txt")
    unknown = [p for p in val if p.label in catalogue.held_out] + make_cards(OUT / "cards")
    conditions = {
        "val photos": [p for p in val if p.label not in catalogue.held_out],
        "registered photos": catalogue.registered,
    }
    overrides = {"votes": args.votes} if args.votes else {}
    config = PipelineConfig.from_settings(settings, adapted=args.adapter, **overrides)
    print(
        f"embedder {embedder.id} (EBRCS_EMBEDDER), adapter {'on' if args.adapter else 'off'}, "
        f"named at score >= {config.accept_score} with a lead >= {config.accept_margin}, "
        f"floor {config.floor_score}"
    )
    if args.distributions:
        report: dict[str, Any] = {"embedder": embedder.id, "adapter": args.adapter}
        for condition, photos in conditions.items():
            videos = videos_for(
                SCENARIOS + HARD_SCENARIOS, args.videos, photos, unknown, DISTRIBUTION_SEEDS
            )
            for aggregation in args.aggregations:
                if aggregation != "mean" and condition == "registered photos":
                    continue  # aggregations are compared where recognition is hard
                scores = track_scores(videos, catalogue, replace(config, aggregation=aggregation))
                summary = summarise_scores(scores)
                products = [r for r in scores if r["kind"] == "product"]
                summary["top1_right"] = sum(r["top1_right"] for r in products) / len(products)
                summary["in_top5"] = sum(r["in_top5"] for r in products) / len(products)
                report[f"{condition}, {aggregation}"] = summary
                print(
                    f"\n{condition}, {aggregation} of the views: product tracks top-1 right "
                    f"{summary['top1_right']:.3f}, in top 5 {summary['in_top5']:.3f}"
                )
                print(
                    f"  percentiles {summary['percentiles']} of best score | margin | "
                    "its closest photo | that photo's lead over other products' closest"
                )
                for kind, row in summary["by_kind"].items():
                    print(
                        f"  {kind:<22}{row['tracks']:>5}  {row['score']}  |  {row['margin']}"
                        f"  |  {row['photo']}  |  {row['photo_margin']}"
                    )
        (OUT / "checkout_scores.json").write_text(json.dumps(report, indent=2))
        print(f"\nwrote {OUT / 'checkout_scores.json'} in {time.perf_counter() - started:.0f} s")
        return
    counters: Counters = {
        "pipeline": lambda roi: CheckoutPipeline(catalogue.recogniser, config, roi)
    }
    for changes in args.variants:
        variant = changed(config, changes)
        counters[changes] = lambda roi, variant=variant: CheckoutPipeline(
            catalogue.recogniser, variant, roi
        )
    if args.before:
        earlier = before_pipeline(args.before)
        judged = inspect.signature(earlier.PipelineConfig.from_settings).parameters
        space = {"adapted": args.adapter} if "adapted" in judged else {}
        earlier_config = earlier.PipelineConfig.from_settings(settings, **space)
        counters["before"] = lambda roi: earlier.CheckoutPipeline(
            catalogue.recogniser, earlier_config, roi
        )
    results: dict[str, dict[str, dict[str, float]]] = {}
    scenarios: dict[str, dict[str, dict[str, dict[str, int]]]] = {}
    for condition, photos in conditions.items():
        for set_name, names in (("standard", SCENARIOS), ("hard cases", HARD_SCENARIOS)):
            videos = videos_for(names, args.videos, photos, unknown)
            tallies = run_condition(videos, catalogue, counters)
            key = f"{condition}, {set_name}"
            results[key] = {name: tally.row() for name, tally in tallies.items()}
            scenarios[key] = {
                name: {s: dict(c) for s, c in tally.by_scenario.items()}
                for name, tally in tallies.items()
            }
            frames = sum(v.frame_count for v in videos)
            print_table(f"{key}: {len(videos)} videos, {frames} frames", tallies)
    known = conditions["val photos"]
    cost = {} if args.quick else measure_cost(catalogue, counters, known, unknown)
    for name, row in cost.items():
        print(f"\nper frame at 960x540, one thread, {name} (ms):")
        for key, value in row.items():
            print(f"  {key:<22}{value:>9.2f}")
    report = {
        "embedder": embedder.id,
        "adapter": args.adapter,
        "results": results,
        "scenarios": scenarios,
        "cost": cost,
        "rule": {
            "accept_score": config.accept_score,
            "accept_margin": config.accept_margin,
            "floor_score": config.floor_score,
            "aggregation": config.aggregation,
        },
        "seconds": time.perf_counter() - started,
    }
    (OUT / "checkout_counting.json").write_text(json.dumps(report, indent=2))
    plot(results, OUT / "checkout_counting.png")
    print(f"\nwrote {OUT / 'checkout_counting.json'} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
