"""Measuring recognition on a labelled photo collection, with a throw-away in-memory catalogue."""

from __future__ import annotations

import csv
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ebrcs.adaptation.fit import fit_adapter
from ebrcs.catalog.index import ProductIndex
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.imaging import decode_image
from ebrcs.recognition.recogniser import Recogniser

EVALUATION_TOP_K = 5
CHUNK = 64


@dataclass(frozen=True)
class LabelledPhoto:
    """One line of a Grocery-Store style list: a photo and its fine (and coarse) label."""

    path: Path
    fine: str
    coarse: str | None


@dataclass
class Report:
    """What an evaluation measured."""

    embedder: str
    n_classes: int
    n_refs: int
    n_queries: int
    top1: float
    top5: float
    coarse_top1: float | None
    accepted: float
    accepted_correct: float | None
    embed_ms_per_image: float
    search_ms_per_query: float
    confused: list[tuple[str, str, int]] = field(default_factory=list)
    adapter_version: str | None = None
    """The adapter fitted on the references, as the server fits one; None when off."""
    fit_seconds: float | None = None


def read_list(path: Path, root: Path) -> list[LabelledPhoto]:
    """Parse ``relative/path.jpg, fine_label[, coarse_label]`` lines (blank lines skipped)."""
    photos = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{path.name}:{number}: expected 'path, fine_label[, coarse_label]'")
        coarse = parts[2] if len(parts) > 2 and parts[2] else None
        photos.append(LabelledPhoto(root / parts[0], parts[1], coarse))
    return photos


def class_names(root: Path) -> dict[str, str]:
    """Fine label -> class name, from ``root/classes.csv`` when present."""
    names: dict[str, str] = {}
    path = root / "classes.csv"
    if path.exists():
        with path.open(newline="") as file:
            rows = csv.reader(file)
            next(rows, None)
            for row in rows:
                if len(row) >= 2:
                    names[row[1].strip()] = row[0].strip()
    return names


def first_per_class(photos: Iterable[LabelledPhoto], shots: int) -> list[LabelledPhoto]:
    """The first ``shots`` photos of each fine label, in list order (all when ``shots`` is 0)."""
    taken: Counter[str] = Counter()
    chosen = []
    for photo in photos:
        if shots == 0 or taken[photo.fine] < shots:
            chosen.append(photo)
            taken[photo.fine] += 1
    return chosen


def _embed(
    embedder: Embedder,
    photos: Sequence[LabelledPhoto],
    settings: Settings,
    tick: Callable[[int], None],
) -> tuple[np.ndarray, float]:
    """Decode photos as uploads are decoded and embed them; returns vectors and embed seconds."""
    vectors = np.empty((len(photos), embedder.dim), dtype=np.float32)
    seconds = 0.0
    for start in range(0, len(photos), CHUNK):
        chunk = photos[start : start + CHUNK]
        pixels = [
            decode_image(
                photo.path.read_bytes(),
                max_bytes=settings.max_upload_bytes,
                max_pixels=settings.max_image_pixels,
            )
            for photo in chunk
        ]
        began = time.perf_counter()
        vectors[start : start + len(chunk)] = embedder.embed(pixels)
        seconds += time.perf_counter() - began
        tick(len(chunk))
    return vectors, seconds


def evaluate(
    *,
    embedder: Embedder,
    settings: Settings,
    catalogue: Sequence[LabelledPhoto],
    queries: Sequence[LabelledPhoto],
    names: dict[str, str],
    adapt: bool = False,
    tick: Callable[[int], None] = lambda _count: None,
) -> Report:
    """Register ``catalogue`` (one product per fine label) in memory, recognise every query.

    With ``adapt`` an adapter is fitted on the registered photos and their stored vectors
    exactly as the server fits one (``fit_adapter``, the configured seed and bound), and both
    the index and the queries are adapted by it; the queries play no part in the fit.
    """
    if not catalogue or not queries:
        raise ValueError("both the reference and the query list must hold photos")
    product_of = {label: uuid.uuid4() for label in dict.fromkeys(p.fine for p in catalogue)}
    label_of = {product: label for label, product in product_of.items()}
    coarse_of = {p.fine: p.coarse for p in catalogue}

    ref_vectors, _ = _embed(embedder, catalogue, settings, tick)
    query_vectors, embed_seconds = _embed(embedder, queries, settings, tick)
    adapter, fit_seconds = None, None
    if adapt:
        began = time.perf_counter()
        adapter = fit_adapter(
            {label: [p.path for p in catalogue if p.fine == label] for label in product_of},
            embedder,
            raw_by_product={
                label: ref_vectors[[p.fine == label for p in catalogue]] for label in product_of
            },
            seed=settings.adapter_fit_seed,
            deadline_seconds=settings.adapter_fit_max_seconds,
        )
        fit_seconds = time.perf_counter() - began
        ref_vectors, query_vectors = (
            adapter.transform(ref_vectors),
            adapter.transform(query_vectors),
        )
    index = ProductIndex(ref_vectors.shape[1], settings.index_kind, embedder_id=embedder.id)
    index.add(
        np.arange(1, len(catalogue) + 1, dtype=np.int64),
        ref_vectors,
        [product_of[p.fine] for p in catalogue],
    )
    recogniser = Recogniser.from_settings(embedder, index, settings, top_k=EVALUATION_TOP_K)
    began = time.perf_counter()
    recognitions = recogniser.match(query_vectors)
    search_seconds = time.perf_counter() - began

    top1 = top5 = coarse_right = coarse_known = accepted = accepted_right = 0
    confusions: Counter[tuple[str, str]] = Counter()
    for query, recognition in zip(queries, recognitions, strict=True):
        ranked = [label_of[match.product_id] for match in recognition.matches]
        best = ranked[0] if ranked else None
        top1 += best == query.fine
        top5 += query.fine in ranked[:EVALUATION_TOP_K]
        if query.coarse is not None:
            coarse_known += 1
            coarse_right += best is not None and coarse_of.get(best) == query.coarse
        if recognition.accepted is not None:
            accepted += 1
            accepted_right += label_of[recognition.accepted.product_id] == query.fine
        if best is not None and best != query.fine:
            confusions[(query.fine, best)] += 1

    def name(label: str) -> str:
        return names.get(label, label)

    n = len(queries)
    return Report(
        embedder=embedder.id,
        n_classes=len(product_of),
        n_refs=len(catalogue),
        n_queries=n,
        top1=top1 / n,
        top5=top5 / n,
        coarse_top1=coarse_right / coarse_known if coarse_known else None,
        accepted=accepted / n,
        accepted_correct=accepted_right / accepted if accepted else None,
        embed_ms_per_image=1000 * embed_seconds / n,
        search_ms_per_query=1000 * search_seconds / n,
        confused=[(name(a), name(b), count) for (a, b), count in confusions.most_common(10)],
        adapter_version=adapter.version if adapter else None,
        fit_seconds=fit_seconds,
    )
