"""The catalogue adapter through the real path on several seeds, and variants on the same views.

    python bench/adapter_seeds.py --root ../shared/datasets/grocery-store [--seeds 0 1 2]
                                  [--views 24] [--cache /tmp/ebrcs-adapter-seeds.npz]

The shipped embedder (``EBRCS_EMBEDDER``) embeds the first 3 train photos of each product (as
``ebrcs eval recognition --shots 3`` registers them, decoded as uploads are) and the val
queries. For each seed the shipped ``fit_adapter`` draws and embeds ``--views`` views of every
registered photo; the views are recorded, so variants are refitted on them in seconds
(``fit_on_vectors``, the same map ``fit_adapter`` computes). A photo's first 12 views are the
ones a 12-view fit of that seed draws, and its first photo's are the ones a 1-photo fit draws,
so the 12-view rows are the real path's figures for that seed. Only registered photos and
their views are fitted on, never a query. Prints top-1 / top-5 per variant and seed, with the
mean and the spread (max - min) over the seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ebrcs.adaptation.adapter import Adapter
from ebrcs.adaptation.fit import AdapterConfig, fit_adapter, fit_on_vectors
from ebrcs.catalog.index import ProductIndex
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.registry import load_embedder
from ebrcs.evaluation.recognition import LabelledPhoto, first_per_class, read_list
from ebrcs.imaging import decode_image
from ebrcs.recognition.recogniser import Recogniser

SHIPPED_VIEWS = AdapterConfig().views_per_photo


class RecordingEmbedder:
    """Embeds with ``inner`` and keeps every batch it returned, in call order."""

    def __init__(self, inner: Embedder) -> None:
        self.id, self.dim, self.inner = inner.id, inner.dim, inner
        self.batches: list[np.ndarray] = []

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        vectors = self.inner.embed(images)
        self.batches.append(vectors)
        return vectors


def decoded(photos: Sequence[LabelledPhoto], settings: Settings) -> list[np.ndarray]:
    return [
        decode_image(
            p.path.read_bytes(),
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
        )
        for p in photos
    ]


def record(args: argparse.Namespace, settings: Settings) -> dict[str, np.ndarray]:
    """Embed refs, queries (and their mirror images) and every seed's views; as arrays."""
    embedder = load_embedder(settings)
    refs = first_per_class(read_list(args.root / "train.txt", args.root), 3)
    queries = read_list(args.root / "val.txt", args.root)
    labels = sorted({p.fine for p in refs})
    began = time.perf_counter()
    ref_vectors = embedder.embed(decoded(refs, settings))
    query_images = decoded(queries, settings)
    query_vectors = embedder.embed(query_images)
    mirrored = embedder.embed([np.ascontiguousarray(image[:, ::-1]) for image in query_images])
    print(f"refs and queries embedded in {time.perf_counter() - began:.0f} s", flush=True)
    by_label = {label: [p for p in refs if p.fine == label] for label in labels}
    stored = {label: ref_vectors[[p.fine == label for p in refs]] for label in labels}
    views = []
    for seed in args.seeds:
        began = time.perf_counter()
        recorder = RecordingEmbedder(embedder)
        fit_adapter(
            {label: [p.path for p in photos] for label, photos in by_label.items()},
            recorder,
            raw_by_product=stored,
            seed=seed,
            config=AdapterConfig(views_per_photo=args.views),
        )
        # fit_adapter embeds one batch of views per photo, products in str order.
        views.append(np.stack(recorder.batches).reshape(len(labels), 3, args.views, -1))
        print(f"seed {seed}: views embedded in {time.perf_counter() - began:.0f} s", flush=True)
    return {
        "labels": np.array(labels),
        "ref_labels": np.array([p.fine for p in refs]),
        "refs": ref_vectors,
        "query_labels": np.array([p.fine for p in queries]),
        "queries": query_vectors,
        "mirrored": mirrored,
        "seeds": np.array(args.seeds),
        "views": np.stack(views),
    }


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way of fitting and scoring, on the recorded views."""

    name: str
    shots: int = 3
    views: int = SHIPPED_VIEWS
    shrink: float = AdapterConfig().shrink
    prototype_weight: float = Settings().match_prototype_weight
    mirror: bool = False


def score(data: dict[str, np.ndarray], seed_row: int, variant: Variant) -> tuple[float, float]:
    """Top-1 and top-5 on val of one variant fitted on one seed's views."""
    labels = list(data["labels"])
    rows = []  # the first ``shots`` photos of each product, in list order
    taken: dict[str, int] = defaultdict(int)
    for row, label in enumerate(data["ref_labels"]):
        if taken[label] < variant.shots:
            rows.append(row)
            taken[label] += 1
    refs, ref_labels = data["refs"][rows], data["ref_labels"][rows]
    vectors, classes = [], []
    for number, label in enumerate(labels):
        own = refs[ref_labels == label]
        seen = data["views"][seed_row, number, : variant.shots, : variant.views]
        vectors += [own, seen.reshape(-1, own.shape[1])]
        classes.append(np.full(len(own) + len(vectors[-1]), number))
    adapter: Adapter = fit_on_vectors(
        np.concatenate(vectors),
        np.concatenate(classes),
        backbone_id="recorded",
        config=AdapterConfig(views_per_photo=variant.views, shrink=variant.shrink),
    )
    queries = data["queries"]
    if variant.mirror:
        both = data["queries"] + data["mirrored"]
        queries = both / np.linalg.norm(both, axis=1, keepdims=True)
    product = {label: uuid.uuid5(uuid.NAMESPACE_URL, str(label)) for label in labels}
    index = ProductIndex(adapter.dim, "flat", embedder_id="recorded")
    owners = [product[label] for label in ref_labels]
    index.add(np.arange(1, len(rows) + 1), adapter.transform(refs), owners)
    settings = Settings(match_prototype_weight=variant.prototype_weight)
    found = Recogniser.from_settings(None, index, settings, top_k=5).match(  # type: ignore[arg-type]
        adapter.transform(queries)
    )
    truth = [product[label] for label in data["query_labels"]]
    ranked = [[m.product_id for m in recognition.matches] for recognition in found]
    top1 = np.mean([r[:1] == [t] for r, t in zip(ranked, truth, strict=True)])
    top5 = np.mean([t in r[:5] for r, t in zip(ranked, truth, strict=True)])
    return 100 * float(top1), 100 * float(top5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--views", type=int, default=24, help="views recorded per photo")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ebrcs-adapter-seeds.npz"))
    parser.add_argument("--only", nargs="+", help="only the variants whose name has one of these")
    args = parser.parse_args()
    settings = Settings()
    if args.cache.exists():
        data = dict(np.load(args.cache))
    else:
        data = record(args, settings)
        np.savez(args.cache, **data)
    print(f"{settings.embedder}, seeds {[int(s) for s in data['seeds']]}, top-1 / top-5 on val")
    variants = [
        Variant("shipped (3 photos, 12 views)"),
        Variant("1 photo, 12 views", shots=1),
        Variant("24 views", views=min(24, data["views"].shape[3])),
        Variant("shrink 0.25", shrink=0.25),
        Variant("shrink 1.0", shrink=1.0),
        Variant("prototype weight 0.5", prototype_weight=0.5),
        Variant("prototype weight 1.0", prototype_weight=1.0),
        Variant("closest photo only (weight 0)", prototype_weight=0.0),
        Variant("query + its mirror image", mirror=True),
        Variant("24 views + mirror image", views=min(24, data["views"].shape[3]), mirror=True),
        Variant(
            "24 views, prototype weight 0.5",
            views=min(24, data["views"].shape[3]),
            prototype_weight=0.5,
        ),
        Variant("24 views, shrink 0.25", views=min(24, data["views"].shape[3]), shrink=0.25),
    ]
    if args.only:
        variants = [v for v in variants if any(word in v.name for word in args.only)]
    for variant in variants:
        results = [score(data, row, variant) for row in range(len(data["seeds"]))]
        top1, top5 = np.array(results).T
        each = "  ".join(f"{a:.1f}/{b:.1f}" for a, b in results)
        print(
            f"{variant.name:32s} {each}   mean {top1.mean():.1f} / {top5.mean():.1f}"
            f"   spread {np.ptp(top1):.1f} / {np.ptp(top5):.1f}"
        )


if __name__ == "__main__":
    main()
