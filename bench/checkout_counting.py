"""Live checkout counting: this pipeline against the original's counting, on synthetic videos.

The catalogue is 3 train photos per product (a few classes held out as "not in the
catalogue"); videos carry val photos of those products (recognition as in a shop) or the
registered photos themselves (recognition nearly perfect, so what is left is counting).
Both counters see the same frames, the same background subtraction and the same embedder;
the original counts the largest moving blob of every 5th frame when its best match scores
at least 0.62, at most once a second per product.

    nice .venv/bin/python bench/checkout_counting.py            # ~5 minutes on 2 cores
    nice .venv/bin/python bench/checkout_counting.py --videos 12 --quick
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import torch

from ebrcs.catalog.index import ProductIndex
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CheckoutPipeline, PipelineConfig
from ebrcs.checkout.pipeline.detect import ForegroundDetector
from ebrcs.checkout.synthetic import (
    SCENARIOS,
    CheckoutVideo,
    ItemPhoto,
    load_photos,
    make_video,
    write_mp4,
)
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
ORIGINAL_EVERY, ORIGINAL_THRESHOLD, ORIGINAL_COOLDOWN = 5, 0.62, 1.0


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


def build_catalogue(embedder: Embedder, settings: Settings) -> Catalogue:
    """Register ``PHOTOS_PER_PRODUCT`` train photos of every class but the held-out ones."""
    train = load_photos(DATASET, "train.txt")
    labels = sorted({photo.label for photo in train})
    held_out = set(labels[:: len(labels) // HELD_OUT][:HELD_OUT])
    by_label: dict[str, list[ItemPhoto]] = defaultdict(list)
    for photo in train:
        if photo.label not in held_out and len(by_label[photo.label]) < PHOTOS_PER_PRODUCT:
            by_label[photo.label].append(photo)
    registered = [photo for photos in by_label.values() for photo in photos]
    images = [cv2.cvtColor(cv2.imread(str(p.path)), cv2.COLOR_BGR2RGB) for p in registered]
    index = ProductIndex(embedder.dim, "flat", embedder_id=embedder.id)
    index.add(
        np.arange(1, len(registered) + 1),
        embedder.embed(images),
        [product_id(photo.label) for photo in registered],
    )
    recogniser = Recogniser.from_settings(embedder, index, settings)
    names = {product_id(label): label for label in by_label}
    return Catalogue(registered, held_out, recogniser, names)


class OriginalCounting:
    """The original's counting: largest blob, every 5th frame, best score >= threshold, cooldown."""

    def __init__(self, recogniser: Recogniser, thresholds: Sequence[float]) -> None:
        self.recogniser = recogniser
        self.detector = ForegroundDetector()
        self.thresholds = thresholds
        self.frame = 0
        self.carts: list[Counter[uuid.UUID]] = [Counter() for _ in thresholds]
        self.last_counted: list[dict[uuid.UUID, float]] = [{} for _ in thresholds]

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
        for cart, last, threshold in zip(
            self.carts, self.last_counted, self.thresholds, strict=True
        ):
            if best.score < threshold:
                continue
            if timestamp - last.get(best.product_id, -np.inf) >= ORIGINAL_COOLDOWN:
                cart[best.product_id] += 1
                last[best.product_id] = timestamp


@dataclass
class Tally:
    """Exact carts and matched items of one counter over many videos."""

    videos: int = 0
    exact: int = 0
    matched: int = 0
    counted: int = 0
    true: int = 0
    by_scenario: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, scenario: str, cart: Counter[str], true_cart: Counter[str]) -> None:
        """Score one video's cart against the truth."""
        cart, true_cart = +cart, +true_cart
        self.videos += 1
        self.exact += cart == true_cart
        self.matched += sum((cart & true_cart).values())
        self.counted += sum(cart.values())
        self.true += sum(true_cart.values())
        self.by_scenario[scenario][0] += cart == true_cart
        self.by_scenario[scenario][1] += 1

    def row(self) -> dict[str, float]:
        """Exact-cart rate, item precision and recall."""
        return {
            "exact_cart": self.exact / self.videos,
            "precision": self.matched / max(self.counted, 1),
            "recall": self.matched / max(self.true, 1),
        }


def pipeline_cart(events: list, names: dict[uuid.UUID, str]) -> Counter[str]:
    """The cart the pipeline's events add up to."""
    cart: Counter[str] = Counter()
    for event in events:
        if event.kind == EventKind.ADD:
            cart[names[event.product_id]] += 1
        elif event.kind == EventKind.REMOVE:
            cart[names[event.product_id]] -= 1
    return cart


def run_condition(
    videos: list[CheckoutVideo], catalogue: Catalogue, acceptance: float
) -> dict[str, Tally]:
    """Every counter over every video of one condition."""
    thresholds = (ORIGINAL_THRESHOLD, acceptance)
    tallies = {"pipeline": Tally(), "original": Tally(), "original_same_threshold": Tally()}
    for video in videos:
        pipeline = CheckoutPipeline(catalogue.recogniser, PipelineConfig(), video.roi)
        original = OriginalCounting(catalogue.recogniser, thresholds)
        events = []
        for index, frame in enumerate(video.frames()):
            timestamp = index / video.fps
            events += pipeline.process(frame, timestamp).events
            original.process(frame, timestamp)
        tallies["pipeline"].add(
            video.scenario, pipeline_cart(events, catalogue.names), video.true_cart
        )
        for key, cart in zip(("original", "original_same_threshold"), original.carts, strict=True):
            named = Counter({catalogue.names[p]: n for p, n in cart.items()})
            tallies[key].add(video.scenario, named, video.true_cart)
    return tallies


def measure_cost(catalogue: Catalogue, known: list[ItemPhoto], unknown: list[ItemPhoto]) -> dict:
    """Per-frame cost at 960 px: decode from mp4 and from JPEG, then every pipeline step."""
    clips = [
        make_video(s, seed=100 + i, photos=known, unknown=unknown, size=(960, 540))
        for i, s in enumerate(("sequence", "two_at_once", "same_twice"))
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

    steps: dict[str, list[float]] = defaultdict(list)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for clip in clips:
        pipeline = CheckoutPipeline(catalogue.recogniser, PipelineConfig(), clip.roi)
        for index, frame in enumerate(clip.frames()):
            for step, ms in pipeline.process(frame, index / clip.fps).timings_ms.items():
                steps[step].append(ms)
    count = len(steps["total"])
    cpu_ms = (time.process_time() - cpu_start) * 1000 / count
    wall_ms = (time.perf_counter() - wall_start) * 1000 / count
    totals = np.array(steps["total"])
    pipeline_ms = float(totals.mean())
    per_frame = jpeg_decode + pipeline_ms
    return {
        "frames": count,
        "decode_mp4_ms": mp4_decode,
        "decode_jpeg_ms": jpeg_decode,
        **{f"{step}_ms": float(np.mean(values)) for step, values in steps.items()},
        "total_p95_ms": float(np.percentile(totals, 95)),
        "total_max_ms": float(totals.max()),
        "render_and_pipeline_cpu_ms": cpu_ms,
        "render_and_pipeline_wall_ms": wall_ms,
        "sustained_fps": 1000 / per_frame,
        "sessions_at_10fps_2_cores": int(2 * 1000 // (10 * per_frame)),
    }


def plot(results: dict, cost: dict, path: Path) -> None:
    """Counting quality per counter and condition, and the per-frame cost breakdown."""
    figure, (quality, spend) = plt.subplots(1, 2, figsize=(13, 4.5))
    labels, values = [], []
    for condition, rows in results.items():
        for counter, row in rows.items():
            labels.append(f"{counter}\n{condition}")
            values.append([row["exact_cart"], row["precision"], row["recall"]])
    positions = np.arange(len(labels))
    for offset, (name, column) in enumerate(
        zip(("exact cart", "precision", "recall"), np.array(values).T, strict=True)
    ):
        quality.bar(positions + (offset - 1) * 0.27, column, 0.27, label=name)
    quality.set_xticks(positions, labels, fontsize=7)
    quality.set_ylim(0, 1.05)
    quality.legend(fontsize=8)
    quality.set_title("Counting on synthetic checkout videos")
    parts = ["decode_jpeg_ms", "background_ms", "tracking_ms", "embedding_ms", "search_ms"]
    bottom = 0.0
    for part in parts:
        spend.bar(["mean frame @960px"], [cost[part]], bottom=bottom, label=part[:-3])
        bottom += cost[part]
    spend.set_ylabel("ms per frame (1 thread)")
    spend.legend(fontsize=8)
    spend.set_title(f"{cost['sustained_fps']:.0f} fps sustained, one session")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    """Run both conditions and the cost measurement; print tables, write JSON and PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=42, help="videos per condition")
    parser.add_argument("--quick", action="store_true", help="skip the 960 px cost run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    started = time.perf_counter()
    catalogue = build_catalogue(load_embedder(settings), settings)
    val = load_photos(DATASET, "val.txt")
    unknown = [p for p in val if p.label in catalogue.held_out]
    conditions = {
        "val photos": [p for p in val if p.label not in catalogue.held_out],
        "registered photos": catalogue.registered,
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    scenarios: dict[str, dict[str, dict[str, str]]] = {}
    for condition, photos in conditions.items():
        videos = [
            make_video(SCENARIOS[seed % len(SCENARIOS)], seed=seed, photos=photos, unknown=unknown)
            for seed in range(args.videos)
        ]
        tallies = run_condition(videos, catalogue, settings.match_threshold)
        results[condition] = {name: tally.row() for name, tally in tallies.items()}
        scenarios[condition] = {
            name: {s: f"{e}/{n}" for s, (e, n) in sorted(tally.by_scenario.items())}
            for name, tally in tallies.items()
        }
        print(f"\n{condition}: {args.videos} videos, {sum(v.frame_count for v in videos)} frames")
        print(f"{'counter':<26}{'exact cart':>11}{'precision':>11}{'recall':>9}")
        for name, row in results[condition].items():
            print(
                f"{name:<26}{row['exact_cart']:>11.2f}{row['precision']:>11.2f}"
                f"{row['recall']:>9.2f}"
            )
        for name, per in scenarios[condition].items():
            print(f"  {name:<24}" + "  ".join(f"{s} {r}" for s, r in per.items()))
    known = conditions["val photos"]
    cost = {} if args.quick else measure_cost(catalogue, known, unknown)
    if cost:
        print("\nper frame at 960x540, one thread (ms):")
        for key, value in cost.items():
            print(f"  {key:<30}{value:>9.2f}")
    report = {
        "results": results,
        "scenarios": scenarios,
        "cost": cost,
        "acceptance": {"threshold": settings.match_threshold, "margin": settings.match_margin},
        "seconds": time.perf_counter() - started,
    }
    (OUT / "checkout_counting.json").write_text(json.dumps(report, indent=2))
    if cost:
        plot(results, cost, OUT / "checkout_counting.png")
    print(f"\nwrote {OUT / 'checkout_counting.json'} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
