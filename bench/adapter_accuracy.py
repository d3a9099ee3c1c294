"""Catalogue adapters compared on the Grocery Store val split, from cached features, in seconds.

    python bench/adapter_accuracy.py [--features /tmp/ebrcs-features] [--sweep]

Reads what ``bench/adapter_features.py`` cached. The catalogue holds the first K train photos
of each of the 81 products (list order, as ``ebrcs eval recognition --shots K`` picks them);
the adapter is fitted on those photos and their augmented views only, never on a query; the
296 val photos are the queries, scored as the shipped recogniser scores them (prototype 0.75 +
closest photo 0.25 over the products of the 32 nearest photos). Prints top-1/top-5 per
backbone and variant at 1 and 3 photos per product (and all, where views of every train photo
were cached); ``--sweep BACKBONE`` adds the number of views, output size, shrink, a trained
cosine-softmax head and registering the views as vectors.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from ebrcs.adaptation.fit import AdapterConfig, fit_on_vectors

PROTOTYPE_WEIGHT = 0.75  # EBRCS_MATCH_PROTOTYPE_WEIGHT
CANDIDATES = 32  # recogniser.CANDIDATE_NEIGHBOURS


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


@dataclasses.dataclass
class Data:
    """Cached raw features of one backbone: every photo, and views of some train photos."""

    plain: np.ndarray  # [train + val, dim]
    views: dict[int, tuple[np.ndarray, np.ndarray]]  # shots -> (train rows, [rows, views, dim])


class Split:
    def __init__(self, folder: Path) -> None:
        labels = np.load(folder / "labels.npz")
        self.fine = labels["fine"]
        self.n_train = int(labels["n_train"])
        self.queries = np.arange(self.n_train, len(self.fine))

    def refs(self, shots: int) -> np.ndarray:
        seen: dict[int, int] = {}
        rows = []
        for row in range(self.n_train):
            label = int(self.fine[row])
            if shots == 0 or seen.get(label, 0) < shots:
                rows.append(row)
                seen[label] = seen.get(label, 0) + 1
        return np.array(rows)


def load(folder: Path, backbone: str) -> Data:
    plain = unit(np.load(folder / f"{backbone}_plain.npy"))
    views = {}
    for shots in (3, 0):
        path = folder / f"{backbone}_views{shots}.npy"
        if path.exists():
            views[shots] = (np.load(folder / f"views{shots}_rows.npy"), unit(np.load(path)))
    return Data(plain, views)


def pair(a: Data, b: Data) -> Data:
    joined = {
        shots: (rows, np.concatenate([va, b.views[shots][1]], axis=-1) / np.sqrt(2))
        for shots, (rows, va) in a.views.items()
        if shots in b.views
    }
    return Data(np.concatenate([a.plain, b.plain], axis=1) / np.sqrt(2), joined)


def ref_views(data: Data, refs: np.ndarray, n_views: int) -> np.ndarray | None:
    """``[refs, n_views, dim]`` cached views of the reference rows (None if not cached)."""
    for rows, views in data.views.values():
        position = {int(row): i for i, row in enumerate(rows)}
        if all(int(r) in position for r in refs) and views.shape[1] >= n_views:
            return views[[position[int(r)] for r in refs], :n_views]
    return None


def score(split: Split, refs_vectors: np.ndarray, ref_labels: np.ndarray, queries: np.ndarray):
    """Top-1 and top-5 of the shipped blend of prototype and closest-photo scores."""
    labels = np.unique(ref_labels)
    column = np.searchsorted(labels, ref_labels)
    protos = unit(np.stack([refs_vectors[column == c].sum(axis=0) for c in range(len(labels))]))
    sims = queries @ refs_vectors.T
    best = np.full((len(queries), len(labels)), -np.inf, np.float32)
    for c in range(len(labels)):
        best[:, c] = sims[:, column == c].max(axis=1)
    blended = PROTOTYPE_WEIGHT * (queries @ protos.T) + (1 - PROTOTYPE_WEIGHT) * best
    nearest = np.argsort(-sims, axis=1)[:, :CANDIDATES]
    found = np.zeros_like(blended, dtype=bool)
    found[np.arange(len(queries))[:, None], column[nearest]] = True
    scores = np.where(found, blended, -np.inf)
    ranked = labels[np.argsort(-scores, axis=1)[:, :5]]
    truth = split.fine[split.queries]
    return float((ranked[:, 0] == truth).mean()), float((ranked == truth[:, None]).any(1).mean())


def evaluate(split: Split, data: Data, shots: int, n_views: int, fit, extra_refs: bool = False):
    """Fit on the refs (and their views) with ``fit``; score the val queries."""
    refs = split.refs(shots)
    views = ref_views(data, refs, n_views) if n_views else None
    if n_views and views is None:
        return None
    train = data.plain[refs]
    labels = split.fine[refs]
    if views is not None:
        train = np.concatenate([train, views.reshape(-1, views.shape[-1])])
        labels = np.concatenate([labels, np.repeat(split.fine[refs], n_views)])
    began = time.perf_counter()
    transform = fit(train, np.searchsorted(np.unique(labels), labels))
    seconds = time.perf_counter() - began
    index_vectors, index_labels = data.plain[refs], split.fine[refs]
    if extra_refs and views is not None:
        index_vectors, index_labels = train, labels
    result = score(
        split, transform(index_vectors), index_labels, transform(data.plain[split.queries])
    )
    return result, seconds


def no_adapter(_x, _y):
    return lambda v: v


def adapter(config: AdapterConfig):
    def fit(x, y):
        return fit_on_vectors(x, y, backbone_id="b", config=config).transform

    return fit


def run(split: Split, backbones: dict[str, Data], rows: list[tuple[str, str, int, object, bool]]):
    shots_list = (1, 3, 0)
    print(
        f"{'backbone':10s} {'variant':44s} "
        + "".join(f"{s or 'all':>4} shots top-1/top-5   " for s in shots_list)
    )
    for backbone, name, n_views, fit, extra in rows:
        data = backbones[backbone]
        cells = []
        for shots in shots_list:
            out = evaluate(split, data, shots, n_views, fit, extra)
            cells.append(
                "      n/a            "
                if out is None
                else f"{out[0][0]:.3f}/{out[0][1]:.3f} ({out[1]:4.0f} s) "
            )
        print(f"{backbone:10s} {name:44s} " + " ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=Path, default=Path("/tmp/ebrcs-features"))
    parser.add_argument("--sweep", metavar="BACKBONE", help="sweep the settings on this backbone")
    args = parser.parse_args()
    split = Split(args.features)
    backbones = {
        name: load(args.features, name)
        for name in ("mnv2", "effl2")
        if (args.features / f"{name}_plain.npy").exists()
    }
    if len(backbones) == 2:
        backbones["mnv2_effl2"] = pair(backbones["mnv2"], backbones["effl2"])
    default = AdapterConfig()
    views = default.views_per_photo
    rows: list = []
    for backbone in backbones:
        rows += [
            (backbone, "adapter off", 0, no_adapter, False),
            (backbone, "adapter on the photos alone (no views)", 0, adapter(default), False),
            (
                backbone,
                f"adapter, photos + {views} views each (default)",
                views,
                adapter(default),
                False,
            ),
        ]
    if args.sweep:
        b = args.sweep
        replace = dataclasses.replace
        rows += [(b, f"adapter, {v} views", v, adapter(default), False) for v in (4, 24)]
        rows += [(b, "adapter + views registered as vectors", views, adapter(default), True)]
        rows += [
            (b, f"adapter, {dim} dims", views, adapter(replace(default, dim=dim)), False)
            for dim in (32, 64)
        ]
        rows += [
            (b, f"adapter, shrink {k}", views, adapter(replace(default, shrink=k)), False)
            for k in (0.1, 1.0)
        ]
        rows += [
            (
                b,
                f"adapter + cosine-softmax head, {e} epochs",
                views,
                adapter(replace(default, head_epochs=e)),
                False,
            )
            for e in (10, 30)
        ]
    run(split, backbones, rows)


if __name__ == "__main__":
    main()
