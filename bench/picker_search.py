"""How the product picker's fuzzy search scores what shoppers type, to choose its cut-off.

The catalogue is the Grocery Store dataset's product names. For each name, queries a shopper
might type: its words in reverse order, one typo (a letter dropped from its longest word), its
longest word alone; and words that name no product. Each query is scored against every name
with the picker's own scorer (``ebrcs.catalog.search``: rapidfuzz WRatio over folded names).
Printed: the score of the right name per kind of query, the best score of a wrong name, and how
often the right name comes first and stays above each cut-off.

    .venv/bin/python bench/picker_search.py --dataset ../shared/datasets/grocery-store
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from ebrcs.catalog.search import folded

NOT_PRODUCTS = ["wallet", "phone", "keys", "umbrella", "receipt", "hand", "bag", "zzqx"]
CUT_OFFS = [50, 55, 60, 65, 70, 75]


def product_names(dataset: Path) -> list[str]:
    """The dataset's product names (its leaf folders), sorted."""
    names = set()
    for line in (dataset / "train.txt").read_text().splitlines():
        names.add(Path(line.split(",")[0].strip()).parent.name)
    return sorted(names)


def queries_for(name: str) -> dict[str, str]:
    """What a shopper might type for a product: reordered, misspelt, one word."""
    words = folded(name).split()
    longest = max(words, key=len)
    typo = longest[: len(longest) // 2] + longest[len(longest) // 2 + 1 :]
    return {
        "reversed words": " ".join(reversed(words)),
        "one typo": " ".join(typo if word == longest else word for word in words),
        "longest word": longest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/datasets/grocery-store"))
    args = parser.parse_args()
    names = product_names(args.dataset)
    choices = [folded(name) for name in names]
    rows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for kind in queries_for(names[0]):
        queries = [queries_for(name)[kind] for name in names]
        matrix = process.cdist(queries, choices, scorer=fuzz.WRatio, processor=None)
        right = matrix[np.arange(len(names)), np.arange(len(names))]
        wrong = matrix.copy()
        wrong[np.arange(len(names)), np.arange(len(names))] = -1
        rows[kind] = (right, wrong.max(axis=1), matrix.argmax(axis=1) == np.arange(len(names)))
    unrelated = process.cdist(NOT_PRODUCTS, choices, scorer=fuzz.WRatio, processor=None).max(axis=1)

    print(f"{len(names)} product names; scores are rapidfuzz WRatio (0-100) on folded text\n")
    header = f"{'query':<16}{'right min':>10}{'right p5':>10}{'right p50':>11}"
    print(f"{header}{'best wrong p50':>16}{'right is 1st':>14}")
    for kind, (right, best_wrong, first) in rows.items():
        low, p5, p50 = right.min(), np.percentile(right, 5), np.median(right)
        print(
            f"{kind:<16}{low:>10.1f}{p5:>10.1f}{p50:>11.1f}"
            f"{np.median(best_wrong):>16.1f}{first.mean():>13.0%}"
        )
    pairs = zip(NOT_PRODUCTS, unrelated, strict=True)
    best = ", ".join(f"{word} {score:.0f}" for word, score in pairs)
    print(f"\nwords naming no product, best score over all names: {best}")
    print(f"\n{'cut-off':<9}" + "".join(f"{kind:>17}" for kind in rows) + f"{'no product':>12}")
    for cut in CUT_OFFS:
        kept = "".join(f"{(rows[kind][0] >= cut).mean():>17.0%}" for kind in rows)
        print(f"{cut:<9}{kept}{(unrelated >= cut).mean():>12.0%}")
    print("\n(right kept: share of queries whose right name scores at least the cut-off;")
    print(" no product: share of non-product words that would still list something)")


if __name__ == "__main__":
    main()
