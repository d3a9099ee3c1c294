"""How a single photo's match looks to the live checkout's acceptance rule, by kind of item.

    nice .venv/bin/python bench/photo_scores.py [--adapter] [--seed 5]

The catalogue of bench/checkout_counting.py (3 train photos per product, 6 classes held out as
"not sold"). Every registered photo, val photo of a sold product and val photo of a held-out
one is shrunk to the size an item has in a 960x540 counter video, relit and given sensor
noise as the synthetic videos do, embedded and recognised once. Per kind: percentiles of the
best product's score, its lead over the runner-up, its closest stored photo's similarity and
that photo's lead over every other product's closest photo; then, for the prototype lead and
the closest-photo rule, how many photos each would name and how many of those are right. It
judges single photos, many more of each kind than the videos hold (every held-out val photo),
beside ``checkout_counting.py --distributions``, which judges whole tracks.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from checkout_counting import DATASET, VIDEO_SIZE, Catalogue, build_catalogue
from checkout_videos import ITEM_HEIGHT, ItemPhoto, load_photos
from ebrcs.checkout.pipeline import PipelineConfig
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.registry import load_embedder

PERCENTILES = (0, 5, 25, 50, 75, 95, 100)
BATCH = 16


@dataclass(frozen=True)
class Judged:
    """One photo's match: what it was, and the four figures the rule can look at."""

    kind: str
    right: bool
    score: float
    lead: float
    photo: float
    photo_lead: float


def as_in_a_video(photo: ItemPhoto, rng: np.random.Generator) -> np.ndarray:
    """The photo at an item's size in a counter video, relit and noisy (RGB uint8)."""
    image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
    height = round(VIDEO_SIZE[1] * ITEM_HEIGHT)
    width = round(image.shape[1] * height / image.shape[0])
    pixels = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    pixels *= 1 + rng.uniform(-0.08, 0.08)
    pixels += rng.normal(0, rng.uniform(1.0, 4.0), pixels.shape)
    return cv2.cvtColor(np.clip(pixels, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def judge_all(catalogue: Catalogue, embedder: Embedder, seed: int) -> list[Judged]:
    """Every registered photo and every val photo recognised once, with its figures."""
    val = load_photos(DATASET, "val.txt")
    groups = {
        "registered": catalogue.registered,
        "val": [photo for photo in val if photo.label not in catalogue.held_out],
        "not sold": [photo for photo in val if photo.label in catalogue.held_out],
    }
    rng = np.random.default_rng(seed)
    judged = []
    for kind, photos in groups.items():
        for start in range(0, len(photos), BATCH):
            chunk = photos[start : start + BATCH]
            vectors = embedder.embed([as_in_a_video(photo, rng) for photo in chunk])
            for photo, found in zip(chunk, catalogue.recogniser.match(vectors), strict=True):
                best, runner_up = found.matches[0], found.matches[1]
                others = max(match.closest or 0.0 for match in found.matches[1:])
                judged.append(
                    Judged(
                        kind=kind,
                        right=catalogue.names.get(best.product_id) == photo.label,
                        score=best.score,
                        lead=best.score - runner_up.score,
                        photo=best.closest or 0.0,
                        photo_lead=(best.closest or 0.0) - others,
                    )
                )
    return judged


def print_percentiles(judged: list[Judged]) -> None:
    """Percentiles of each figure per kind of photo (a sold product split by top-1 right)."""
    print(f"percentiles {PERCENTILES}")
    keys = sorted({(j.kind, j.right) for j in judged})
    for kind, right in keys:
        rows = [j for j in judged if (j.kind, j.right) == (kind, right)]
        label = kind if kind != "val" else f"val, top-1 {'right' if right else 'wrong'}"
        print(f"{label:<26}{len(rows):>5} photos")
        for figure in ("score", "lead", "photo", "photo_lead"):
            values = np.percentile([getattr(j, figure) for j in rows], PERCENTILES)
            print(f"  {figure:<12}" + " ".join(f"{v:6.3f}" for v in values))


def print_rules(judged: list[Judged], accept_score: float) -> None:
    """Named photos and their precision for a grid of prototype leads and closest-photo rules."""
    shopped = [j for j in judged if j.kind != "registered"]
    registered = [j for j in judged if j.kind == "registered"]
    sold = sum(j.kind == "val" for j in shopped)
    print(
        "\nnamed = (score >= accept and lead >= L) or (photo >= P and photo lead >= M); "
        f"accept {accept_score}"
    )
    print(f"{'L':>5}{'P':>7}{'M':>6}  val named right / wrong  precision  recall  registered")
    for lead in (0.25, 0.31, 0.4, 0.5):
        for photo, photo_lead in ((2.0, 0.0), (0.92, 0.1), (0.935, 0.15), (0.95, 0.15)):
            rule = (accept_score, lead, photo, photo_lead)
            right = sum(named(j, *rule) and j.right and j.kind == "val" for j in shopped)
            wrong = sum(named(j, *rule) and not (j.right and j.kind == "val") for j in shopped)
            kept = sum(named(j, *rule) and j.right for j in registered) / max(len(registered), 1)
            print(
                f"{lead:>5.2f}{photo:>7.3f}{photo_lead:>6.2f}  {right:>10} / {wrong:<10}"
                f"{right / max(right + wrong, 1):>9.3f}{right / max(sold, 1):>8.3f}{kept:>11.3f}"
            )


def named(j: Judged, accept: float, lead: float, photo: float, photo_lead: float) -> bool:
    """Whether the rule with these thresholds names the photo."""
    by_lead = j.score >= accept and j.lead >= lead
    return by_lead or (j.photo >= photo and j.photo_lead >= photo_lead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", action="store_true", help="through the catalogue adapter")
    parser.add_argument("--seed", type=int, default=5, help="of the lighting and noise drawn")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    settings = Settings()
    embedder = load_embedder(settings)
    catalogue = build_catalogue(embedder, settings, adapt=args.adapter)
    config = PipelineConfig.from_settings(settings, adapted=args.adapter)
    print(f"embedder {embedder.id}, adapter {'on' if args.adapter else 'off'}")
    judged = judge_all(catalogue, embedder, args.seed)
    print_percentiles(judged)
    print_rules(judged, config.accept_score)


if __name__ == "__main__":
    main()
