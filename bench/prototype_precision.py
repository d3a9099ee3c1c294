"""Prototype sums in float32 against float64: how far scores move and whether rankings change.

``ProductIndex`` keeps each product's running sum of its vectors for the recogniser's
prototype score (``rank_products``: 0.75 x cosine to the prototype + 0.25 x closest photo).
On ``ebrcs bench search``'s catalogue (three shots per product, kept by
``bench/search_variants.py`` in its cache) every query's 32 nearest photos are ranked into
products both ways. A product's sum is accumulated as the index does: three shots added, one
removed and added again (as a product taken off sale and back on).

    nice -n 10 .venv/bin/python bench/prototype_precision.py --size 100000
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import numpy as np

from ebrcs.recognition.matching import rank_products
from ebrcs.recognition.types import Hit

SHOTS = 3
WEIGHT = 0.75


def sums(vectors: np.ndarray, dtype: type) -> np.ndarray:
    """Per-product sums accumulated in ``dtype`` through an add, a removal and a re-add."""
    shots = vectors.reshape(-1, SHOTS, vectors.shape[1]).astype(dtype)
    total = shots[:, 0].copy()
    for shot in range(1, SHOTS):
        total += shots[:, shot]
    total -= shots[:, 0]
    total += shots[:, 0]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ebrcs-search/cache"))
    args = parser.parse_args()
    (vectors_path,) = args.cache.glob(f"variants-{args.size}x*.vectors.npy")
    (queries_path,) = args.cache.glob(f"variants-{args.size}x*.q{args.queries}.npy")
    vectors, queries = np.load(vectors_path), np.load(queries_path)
    vectors = vectors[: len(vectors) // SHOTS * SHOTS]
    single, double = sums(vectors, np.float32), sums(vectors, np.float64)
    single_norms, double_norms = np.linalg.norm(single, axis=1), np.linalg.norm(double, axis=1)
    largest, changed, leads = 0.0, 0, []
    for query in queries:
        scores = vectors @ query
        nearest = np.argsort(-scores)[:32]
        hits = [
            Hit(int(i) + 1, uuid.UUID(int=int(i) // SHOTS + 1), float(scores[i])) for i in nearest
        ]
        products = sorted({int(i) // SHOTS for i in nearest})
        rankings = []
        for total, norms, dtype in (
            (single, single_norms, np.float32),
            (double, double_norms, np.float64),
        ):
            cosines = total[products] @ query.astype(dtype) / norms[products]
            prototypes = {
                uuid.UUID(int=p + 1): float(c) for p, c in zip(products, cosines, strict=True)
            }
            rankings.append(rank_products(hits, prototypes=prototypes, prototype_weight=WEIGHT))
        got, wanted = rankings
        largest = max(
            largest, max(abs(a.score - b.score) for a, b in zip(got, wanted, strict=True))
        )
        changed += [m.product_id for m in got] != [m.product_id for m in wanted]
        leads.append(wanted[0].score - wanted[1].score if len(wanted) > 1 else 1.0)
    print(f"{len(queries)} queries over {len(vectors) // SHOTS} products")
    print(f"largest score difference float32 - float64: {largest:.2e}")
    print(f"queries whose product ranking changed: {changed}")
    print(f"smallest lead of the best product (float64): {min(leads):.2e}")


if __name__ == "__main__":
    main()
