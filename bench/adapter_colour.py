"""A colour histogram beside the shipped embedding, through the catalogue adapter, on seeds.

    python bench/adapter_colour.py --root ../shared/datasets/grocery-store [--seeds 0 1 2]
                                   [--cache /tmp/ebrcs-colour.npz] [--cost 64]

As in ``bench/adapter_seeds.py``, the shipped embedder embeds the first 3 train photos of each
product (decoded as uploads are), the val queries, and each seed's 12 views of every
registered photo, drawn by the shipped ``fit_adapter``; every image it embeds is also
described by each colour descriptor of ``ebrcs.embedding.colour``, and all is cached. Each
variant joins the embedder's unit vector and ``weight`` times a descriptor's unit vector,
re-normalised, and refits the adapter on them (``fit_on_vectors``); it is scored with the
shipped Recogniser. Prints top-1 / top-5 per seed, the mean and the spread (max - min);
``--cost`` also times the descriptors and the embedder per crop on that many crops.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from adapter_seeds import SHIPPED_VIEWS, RecordingEmbedder, Variant, decoded, score
from ebrcs.adaptation.fit import fit_adapter
from ebrcs.adaptation.views import augmented_view
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.colour import ab_histogram, hsv_histogram
from ebrcs.embedding.registry import load_embedder
from ebrcs.evaluation.recognition import first_per_class, read_list

DESIGNS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hsv": hsv_histogram,
    "hsv_centre": functools.partial(hsv_histogram, centre=0.6),
    "ab": ab_histogram,
}
TITLES = {
    "hsv": "HSV 8x4x4",
    "hsv_centre": "HSV 8x4x4, central 60%",
    "ab": "Lab a*b* 8x8",
}
WEIGHTS = (0.25, 0.5, 1.0, 2.0)
PARTS = ("refs", "queries", "views")


class ColourRecordingEmbedder(RecordingEmbedder):
    """Records the inner embedder's vectors and every colour descriptor of the same images."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.colours: dict[str, list[np.ndarray]] = {name: [] for name in DESIGNS}

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        for name, describe in DESIGNS.items():
            self.colours[name].append(np.stack([describe(image) for image in images]))
        return super().embed(images)

    def recorded(self, part: str) -> dict[str, np.ndarray]:
        """Everything recorded, stacked, under ``part`` and ``part_<design>``."""
        found = {part: np.concatenate(self.batches)}
        for name, batches in self.colours.items():
            found[f"{part}_{name}"] = np.concatenate(batches)
        return found


def record(args: argparse.Namespace, settings: Settings) -> dict[str, np.ndarray]:
    """Embed and describe refs, queries and every seed's views; as arrays."""
    embedder = load_embedder(settings)
    refs = first_per_class(read_list(args.root / "train.txt", args.root), 3)
    queries = read_list(args.root / "val.txt", args.root)
    labels = sorted({p.fine for p in refs})
    began = time.perf_counter()
    data: dict[str, np.ndarray] = {}
    for part, photos in (("refs", refs), ("queries", queries)):
        recorder = ColourRecordingEmbedder(embedder)
        recorder.embed(decoded(photos, settings))
        data |= recorder.recorded(part)
    print(f"refs and queries embedded in {time.perf_counter() - began:.0f} s", flush=True)
    by_label = {label: [p.path for p in refs if p.fine == label] for label in labels}
    stored = {label: data["refs"][[p.fine == label for p in refs]] for label in labels}
    seeds: list[dict[str, np.ndarray]] = []
    for seed in args.seeds:
        began = time.perf_counter()
        recorder = ColourRecordingEmbedder(embedder)
        fit_adapter(by_label, recorder, raw_by_product=stored, seed=seed)
        # fit_adapter embeds one batch of views per photo, products in str order.
        seeds.append(
            {
                key: value.reshape(len(labels), 3, SHIPPED_VIEWS, -1)
                for key, value in recorder.recorded("views").items()
            }
        )
        print(f"seed {seed}: views embedded in {time.perf_counter() - began:.0f} s", flush=True)
    data |= {key: np.stack([found[key] for found in seeds]) for key in seeds[0]}
    return {
        "labels": np.array(labels),
        "ref_labels": np.array([p.fine for p in refs]),
        "query_labels": np.array([p.fine for p in queries]),
        "seeds": np.array(args.seeds),
        **data,
    }


def joined(data: dict[str, np.ndarray], design: str | None, weight: float) -> dict[str, np.ndarray]:
    """``data`` with each vector the embedder's beside ``weight`` x the design's, unit again.

    No design: the embedder's alone; weight ``inf``: the design's alone.
    """
    out = dict(data)
    if design is None:
        return out
    for part in PARTS:
        colour = data[f"{part}_{design}"]
        if np.isinf(weight):
            out[part] = colour
            continue
        both = np.concatenate([data[part], weight * colour], axis=-1)
        out[part] = both / np.linalg.norm(both, axis=-1, keepdims=True)
    return out


def cost(settings: Settings, root: Path, crops: int) -> None:
    """Milliseconds per crop on one thread: each descriptor and the embedder, views and photos."""
    embedder = load_embedder(settings)
    photos = decoded(first_per_class(read_list(root / "train.txt", root), 1)[:crops], settings)
    rng = np.random.default_rng(0)
    views = [augmented_view(photos[k % len(photos)], rng) for k in range(crops)]
    for kind, images in (("256 x 256 views", views), ("decoded photos", photos)):
        shape = images[0].shape
        print(f"per crop, {len(images)} {kind} (first {shape[1]} x {shape[0]}):")
        for name, describe in DESIGNS.items():
            print(f"  {TITLES[name]:26s} {_per_crop(describe, images, len(images)):.2f} ms")
        batches = [images[k : k + 16] for k in range(0, len(images), 16)]
        took = _per_crop(embedder.embed, batches, len(images))
        print(f"  {settings.embedder + ' (batches of 16)':26s} {took:.1f} ms")


def _per_crop(work: Callable[[Any], object], items: Sequence, crops: int) -> float:
    """Fastest of 3 runs of ``work`` on every item after a warm-up, in ms per crop."""
    best = float("inf")
    for run in range(4):
        began = time.perf_counter()
        for item in items:
            work(item)
        if run:
            best = min(best, time.perf_counter() - began)
    return 1000 * best / crops


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ebrcs-colour.npz"))
    parser.add_argument("--cost", type=int, default=0, help="crops to time per crop (0: none)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    settings = Settings(embed_threads=1)
    if args.cache.exists():
        data = dict(np.load(args.cache))
    else:
        data = record(args, settings)
        np.savez(args.cache, **data)
    print(f"{settings.embedder}, seeds {[int(s) for s in data['seeds']]}, top-1 / top-5 on val")
    variants: list[tuple[str, str | None, float]] = [("shipped pair", None, 0.0)]
    for design, title in TITLES.items():
        variants += [(f"+ {title} x {weight}", design, weight) for weight in WEIGHTS]
        variants.append((f"{title} alone", design, float("inf")))
    for name, design, weight in variants:
        vectors = joined(data, design, weight)
        results = [score(vectors, row, Variant(name)) for row in range(len(data["seeds"]))]
        top1, top5 = np.array(results).T
        each = "  ".join(f"{a:.1f}/{b:.1f}" for a, b in results)
        print(
            f"{name:36s} {each}   mean {top1.mean():.1f} / {top5.mean():.1f}"
            f"   spread {np.ptp(top1):.1f} / {np.ptp(top5):.1f}",
            flush=True,
        )
    if args.cost:
        cost(settings, args.root, args.cost)


if __name__ == "__main__":
    main()
