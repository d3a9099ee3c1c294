"""Prometheus metrics: every one defined here, recorded at a few narrow points, served on /metrics.

With ``ebrcs serve --workers N`` each worker records into ``PROMETHEUS_MULTIPROC_DIR`` (set by
``serve``) and a scrape of any worker reads all of them: counters and histograms are summed,
the open sockets too, and per-process values (index size, sync lag) carry a ``pid`` label.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

RECOGNITION_OUTCOMES = ("named", "unsure", "not_a_product")
"""What an item put down can turn out to be."""

STEP_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

FRAMES = Counter("ebrcs_frames", "Checkout frames run through the pipeline (live and video).")
FRAME_STEP_SECONDS = Histogram(
    "ebrcs_frame_step_seconds",
    "Time one frame spent in each pipeline step; step total is the whole frame.",
    ["step"],
    buckets=STEP_BUCKETS_SECONDS,
)
ITEMS = Counter(
    "ebrcs_recognised_items",
    "Items put down and decided, by outcome: named, unsure or not_a_product.",
    ["outcome"],
)
REGISTRATIONS = Counter("ebrcs_products_registered", "Products registered through the API.")
CONFIRMS = Counter("ebrcs_orders_confirmed", "Orders created by confirming a checkout.")
SOCKETS_OPEN = Gauge(
    "ebrcs_websockets_open", "WebSocket connections open.", multiprocess_mode="livesum"
)
INDEX_VECTORS = Gauge(
    "ebrcs_index_vectors",
    "Vectors in this process's product index, labelled by index kind.",
    ["kind"],
    multiprocess_mode="liveall",
)
SYNC_LAG = Gauge(
    "ebrcs_index_sync_lag_vectors",
    "Embedding ids committed to the database but not yet applied to this process's index.",
    multiprocess_mode="liveall",
)


def observe_frame(timings_ms: Mapping[str, float], outcomes: Iterable[str] = ()) -> None:
    """Record one processed frame: its step timings (ms) and the outcome of each item decided."""
    FRAMES.inc()
    for step, milliseconds in timings_ms.items():
        FRAME_STEP_SECONDS.labels(step=step).observe(milliseconds / 1000.0)
    for outcome in outcomes:
        ITEMS.labels(outcome=outcome).inc()


_index_kinds_shown: set[str] = set()


def set_index_state(*, kind: str, vectors: int, lag: int) -> None:
    """Record this process's index at scrape time; a kind swapped out reads 0 vectors."""
    _index_kinds_shown.add(kind)
    for shown in _index_kinds_shown:
        INDEX_VECTORS.labels(kind=shown).set(vectors if shown == kind else 0)
    SYNC_LAG.set(lag)


def exposition() -> bytes:
    """Every metric in Prometheus' text format, over all worker processes when there are several."""
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
