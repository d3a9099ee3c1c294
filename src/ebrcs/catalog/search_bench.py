"""``ebrcs bench search``: single-query search at catalogue scale, exact against approximate.

Vectors come from a generator fitted to real features of the Grocery Store photos (see
``GeneratorFit``): non-negative, unit length, three shots per product around a product centre,
with the real spectrum and crowding. For each size and index kind: build seconds, memory
(the FAISS structures: vectors, graph, id maps; the per-product prototype sums of
``ProductIndex`` come on top for every kind), p50/p99 latency of one query (k = 32, one
thread), recall@1 and recall@10 against exact search, and the flat index's p99 in the same
run; approximate kinds also search every query ``PASSES`` times, for the tail that is the
index's own (``query_p99_ms``) beside each pass's. Vectors are generated chunk by chunk from
fixed seeds, so each index is built from the same stream without holding a second copy.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from ebrcs.catalog import vectors as index_kinds
from ebrcs.catalog.index import RAW_SPACE, IndexExport, ProductIndex
from ebrcs.catalog.rebuild import wanted_kind
from ebrcs.catalog.snapshots import read_snapshot, write_snapshot
from ebrcs.catalog.vectors import KINDS
from ebrcs.config import get_settings

OUT_DIR = Path("bench") / "out"
"""Results go here, under the working directory (a source checkout's bench/out)."""
K = 32
QUERIES = 2000  # one standard error of a recall near 0.99 is 0.002
FLAT_TIMED = 100  # single flat queries timed per size (a 1M flat search takes ~0.3 s)
# Approximate kinds search every query this many times: a query slow in one pass only was
# slowed by the box (its neighbours' memory traffic, stolen time), not by the index.
PASSES = 3
SHOTS = 3
CHUNK_PRODUCTS = 20_000
ADD_REPEATS = 15
SUBSPACE = 256
MEAN_SHAPE = 2.7


@dataclass(frozen=True)
class GeneratorFit:
    """Parameters of the synthetic feature generator, fitted to real photo features.

    shot = relu(mean_weight * m + U (sqrt(between * lambda) g_product + sqrt(within * lambda) h)
    + residual * e), normalised; m a fixed non-negative direction, U a random orthonormal
    basis of ``SUBSPACE`` directions with the power-law spectrum lambda_i ~ (i + 1)^-alpha,
    and e isotropic noise carrying the spectrum's tail.
    """

    alpha: float = 1.18
    mean_weight: float = 1.0
    between: float = 0.5
    within: float = 0.5
    residual_share: float = 0.068


class FeatureGenerator:
    """Deterministic chunks of synthetic catalogue vectors and checkout queries."""

    def __init__(self, dim: int, fit: GeneratorFit, seed: int = 0) -> None:
        self.dim, self.fit, self.seed = dim, fit, seed
        rng = np.random.default_rng(seed)
        rank = min(SUBSPACE, dim)
        basis, _ = np.linalg.qr(rng.standard_normal((dim, rank)))
        spectrum = (np.arange(rank) + 1.0) ** -fit.alpha
        spectrum /= spectrum.sum()
        self.basis = basis.T.astype(np.float32)  # rank x dim
        self.scales = np.sqrt(spectrum).astype(np.float32)
        # Real features: per-coordinate means vary (coefficient of variation 0.61, a gamma of
        # shape 2.7) and each coordinate's spread grows with its mean (correlation 0.92).
        mean = rng.gamma(MEAN_SHAPE, size=dim)
        self.mean = (fit.mean_weight * mean / np.linalg.norm(mean)).astype(np.float32)
        self.weights = (mean / np.sqrt(np.mean(mean**2))).astype(np.float32)
        # Per coordinate, so that the tail carries residual_share of all variance.
        self.residual = math.sqrt(fit.residual_share / (1 - fit.residual_share) / dim)

    def centres(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """Product centres: the common direction plus the between-product spread."""
        spread = rng.standard_normal((count, len(self.scales)), dtype=np.float32)
        between = (spread * self.scales * math.sqrt(self.fit.between)) @ self.basis
        return self.mean + between * self.weights

    def shots(self, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
        """One photo of each centre: within-product spread, tail noise, relu, unit length."""
        spread = rng.standard_normal((len(centres), len(self.scales)), dtype=np.float32)
        within = (spread * self.scales * math.sqrt(self.fit.within)) @ self.basis
        vectors = centres + within * self.weights
        vectors += self.residual * rng.standard_normal(vectors.shape, dtype=np.float32)
        np.maximum(vectors, 0, out=vectors)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def chunks(
        self, size: int, queries: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(ids, vectors, queries) chunks: ``size`` vectors, SHOTS per product, and checkout
        photos (a new shot of a random stored product) spread evenly over the chunks."""
        products = -(-size // SHOTS)
        count = -(-products // CHUNK_PRODUCTS)
        for chunk in range(count):
            rng = np.random.default_rng([self.seed, chunk])
            first = chunk * CHUNK_PRODUCTS
            centres = self.centres(rng, min(CHUNK_PRODUCTS, products - first))
            vectors = np.concatenate([self.shots(rng, centres) for _ in range(SHOTS)])
            order = np.arange(len(vectors)).reshape(SHOTS, -1).T.reshape(-1)  # product by product
            vectors = vectors[order][: size - first * SHOTS]
            ids = np.arange(first * SHOTS + 1, first * SHOTS + len(vectors) + 1)
            wanted = queries * (chunk + 1) // count - queries * chunk // count
            # A small catalogue has fewer products than queries: some are bought twice.
            picked = rng.choice(len(centres), size=wanted, replace=wanted > len(centres))
            yield ids, vectors, self.shots(rng, centres[picked])


def feature_stats(vectors: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The statistics the generator is fitted to, for real or synthetic features."""
    x = vectors.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cosines = x @ x.T
    upper = np.triu_indices(len(x), 1)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(cosines, -2)
    nearest_wrong = np.where(same, -2, cosines).max(axis=1)
    nearest_right = np.where(same, cosines, -2).max(axis=1)
    centred = x - x.mean(axis=0)
    spectrum = np.linalg.svd(centred, compute_uv=False) ** 2
    spectrum /= spectrum.sum()
    return {
        "mean_pairwise_cosine": float(cosines[upper].mean()),
        "median_same_product_cosine": float(np.median(cosines[upper][same[upper]])),
        "median_other_product_cosine": float(np.median(cosines[upper][~same[upper]])),
        "median_nearest_wrong_cosine": float(np.median(nearest_wrong)),
        "nearest_photo_accuracy": float((nearest_right > nearest_wrong).mean()),
        "zero_share": float((vectors == 0).mean()),
        "mean_vector_norm": float(np.linalg.norm(x.mean(axis=0))),
        "spectrum_top1": float(spectrum[0]),
        "spectrum_top64": float(spectrum[:64].sum()),
        "spectrum_top256": float(spectrum[:256].sum()),
    }


def synthetic_like(generator: FeatureGenerator, labels: np.ndarray) -> np.ndarray:
    """Synthetic features with the same number of products and photos per product."""
    rng = np.random.default_rng(1)
    names, per_label = np.unique(labels, return_inverse=True)
    centres = generator.centres(rng, len(names))
    return generator.shots(rng, centres[per_label])


def real_features(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """The configured embedder's vectors of a photo list's train and val photos, and labels.

    Cached under ``OUT_DIR`` per embedder: embedding the Grocery Store takes minutes here.
    """
    settings = get_settings()
    cache = OUT_DIR / f"fit_features_{settings.embedder}.npz"
    if cache.is_file():
        stored = np.load(cache)
        return stored["features"], stored["labels"]
    from PIL import Image

    from ebrcs.embedding.registry import load_embedder

    rows = [
        line.split(",")
        for name in ("train.txt", "val.txt")
        for line in (root / name).read_text().splitlines()
        if line.strip()
    ]
    embedder = load_embedder(settings)
    batches = []
    for start in range(0, len(rows), 32):
        photos = [
            np.asarray(Image.open(root / row[0].strip()).convert("RGB"))
            for row in rows[start : start + 32]
        ]
        batches.append(embedder.embed(photos))
    features, labels = np.concatenate(batches), np.array([int(row[1]) for row in rows])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(cache, features=features, labels=labels)
    return features, labels


def fit_report(root: Path) -> dict[str, dict[str, float]]:
    """Real features' statistics beside the generator's, same products and photo counts."""
    real, names = real_features(root)
    generator = FeatureGenerator(real.shape[1], GeneratorFit())
    return {
        "real": feature_stats(real, names),
        "synthetic": feature_stats(synthetic_like(generator, names), names),
    }


def index_mb(index: ProductIndex) -> float:
    """The FAISS structures' size in MB (what a snapshot writes; the in-memory size)."""
    total = 0

    def count(data: bytes) -> None:
        nonlocal total
        total += len(data)

    def write(export: IndexExport) -> None:
        for part in export.parts:
            faiss.write_index(part, faiss.PyCallbackIOWriter(count))

    for ids, vectors in index.export(write):
        total += ids.nbytes + vectors.nbytes
    return total / 1e6


@dataclass
class KindResult:
    """One index kind at one size."""

    kind: str
    build_s: float
    memory_mb: float
    p50_ms: float
    p99_ms: float
    recall_at_1: float
    recall_at_10: float
    flat_p99_ms: float = 0.0
    restore_s: float = 0.0
    load_average: float = 0.0
    build_cpu_s: float = 0.0
    build_load: float = 0.0
    add3_ms: float = 0.0
    cpu_p50_ms: float = 0.0
    cpu_p99_ms: float = 0.0
    query_p99_ms: float = 0.0
    """p99 over the queries of each one's median over ``PASSES`` passes: the index's own tail."""
    pass_p99_ms: list[float] = field(default_factory=list)
    """The p99 of each pass on its own (the first is ``p99_ms``)."""
    slowest_shared: list[int] = field(default_factory=list)
    """How many of the first pass's 1 % slowest queries are among each later pass's."""


def timed_searches(
    index: ProductIndex, queries: np.ndarray
) -> tuple[list[list[int]], list[float], list[float]]:
    """Ids found, wall and CPU milliseconds (this thread's), one query at a time (k = K).

    On a shared box the wall time's tail is mostly the scheduler; the CPU time is the
    search's own cost.
    """
    found, wall, cpu = [], [], []
    for query in queries:
        start, cpu_start = time.perf_counter(), time.thread_time()
        (hits,) = index.search(query[None, :], K)
        cpu.append((time.thread_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
        found.append([hit.embedding_id for hit in hits])
    return found, wall, cpu


def add3_ms(index: ProductIndex, generator: FeatureGenerator, size: int) -> float:
    """Median milliseconds of adding one more product's 3 photos (a registration's index step)."""
    times = []
    for product in range(ADD_REPEATS):
        rng = np.random.default_rng([9, product])
        shots = generator.shots(rng, generator.centres(rng, 1).repeat(SHOTS, axis=0))
        ids = np.arange(SHOTS) + size + 1 + product * SHOTS
        start = time.perf_counter()
        index.add(ids, shots, [owner_of(int(i)) for i in ids])
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def owner_of(embedding_id: int) -> uuid.UUID:
    """The synthetic product behind a vector (SHOTS consecutive ids per product)."""
    return uuid.UUID(int=(embedding_id - 1) // SHOTS + 1)


def build(
    kind: str, generator: FeatureGenerator, size: int
) -> tuple[ProductIndex, float, float, np.ndarray]:
    """An index of ``kind`` fed chunk by chunk as a rebuild does; wall and CPU seconds (all
    threads: on a shared box the wall time depends on what else runs), and the queries."""
    index = ProductIndex(generator.dim, kind)
    seconds, cpu_seconds, queries = 0.0, 0.0, []
    for ids, rows, chunk_queries in generator.chunks(size, QUERIES):
        owners = [owner_of(i) for i in ids.tolist()]
        start, cpu_start = time.perf_counter(), time.process_time()
        index.add(ids, rows, owners)
        seconds += time.perf_counter() - start
        cpu_seconds += time.process_time() - cpu_start
        queries.append(chunk_queries)
    return index, seconds, cpu_seconds, np.concatenate(queries)


def built_as(kind: str) -> str:
    """The kind with the graph settings it is built with (a cache entry per setting)."""
    hnsw = f"m{index_kinds.HNSW_NEIGHBOURS}-ef{index_kinds.HNSW_EF_CONSTRUCTION}"
    pca = f"{index_kinds.PCA_DIM}-m{index_kinds.PCA_NEIGHBOURS}-ef{index_kinds.PCA_EF_CONSTRUCTION}"
    return {"hnsw": f"hnsw-{hnsw}", "hnsw_pca": f"hnsw_pca-{pca}"}.get(kind, kind)


class BuildCache:
    """Built approximate indexes kept as snapshots with their build figures: each builds once.

    The flat index is rebuilt every run (a copy of the vectors), so its latency is always
    measured in the same run as the approximate kinds'.
    """

    def __init__(self, folder: Path | None, size: int, dim: int) -> None:
        self.folder, self.stem = folder, f"{size}x{dim}-{hash(GeneratorFit()) & 0xFFFFFFFF:x}"

    def _path(self, name: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{self.stem}-{name}"

    def index(self, kind: str, size: int) -> tuple[ProductIndex, dict[str, float]] | None:
        """The cached index of ``kind`` read back as a restart does, and its build figures."""
        snapshot, figures = (
            self._path(f"{built_as(kind)}.faiss"),
            self._path(f"{built_as(kind)}.json"),
        )
        if snapshot is None or not snapshot.is_file() or not figures.is_file():
            return None
        start = time.perf_counter()
        header, parts = read_snapshot(snapshot)
        owners = {i: owner_of(i) for i in range(1, size + 1)}
        index = ProductIndex.restore(
            KINDS[header.kind].from_parts(parts, findable=set(owners)),
            dim=header.dim,
            embedder_id=header.embedder_id,
            space=RAW_SPACE,
            watermark=header.watermark,
            products=owners,
        )
        return index, {**json.loads(figures.read_text()), "restore_s": time.perf_counter() - start}

    def keep_index(self, kind: str, index: ProductIndex, figures: dict[str, float]) -> None:
        snapshot, path = self._path(f"{built_as(kind)}.faiss"), self._path(f"{built_as(kind)}.json")
        if snapshot is not None and path is not None:
            write_snapshot(index, snapshot)
            path.write_text(json.dumps(figures))


def measure_size(
    size: int, dim: int, kinds: list[str], threads: int, cache: Path | None
) -> dict[str, KindResult]:
    """Flat first (truth and baseline), freed, then each approximate kind on the same stream."""
    generator = FeatureGenerator(dim, GeneratorFit())
    cached = BuildCache(cache, size, dim)
    flat, seconds, cpu_seconds, queries = build("flat", generator, size)
    nearest = [[hit.embedding_id for hit in hits] for hits in flat.search(queries, 10)]
    _, times, cpu_times = timed_searches(flat, queries[:FLAT_TIMED])
    flat_p99 = float(np.percentile(times, 99))
    adding = add3_ms(flat, generator, size)
    results = {
        "flat": KindResult(
            kind="flat",
            build_s=seconds,
            memory_mb=index_mb(flat),
            p50_ms=float(np.median(times)),
            p99_ms=flat_p99,
            recall_at_1=1.0,
            recall_at_10=1.0,
            flat_p99_ms=flat_p99,
            load_average=os.getloadavg()[0],
            build_cpu_s=cpu_seconds,
            build_load=os.getloadavg()[0],
            add3_ms=adding,
            cpu_p50_ms=float(np.median(cpu_times)),
            cpu_p99_ms=float(np.percentile(cpu_times, 99)),
            query_p99_ms=flat_p99,
            pass_p99_ms=[flat_p99],
        )
    }
    del flat
    for kind in kinds:
        restored = cached.index(kind, size)
        if restored is None:
            faiss.omp_set_num_threads(threads)
            index, seconds, cpu_seconds, _ = build(kind, generator, size)
            faiss.omp_set_num_threads(1)
            figures = {
                "build_s": seconds,
                "build_cpu_s": cpu_seconds,
                "build_load": os.getloadavg()[0],
            }
            cached.keep_index(kind, index, figures)
        else:
            index, figures = restored
        found, times, cpu_times = timed_searches(index, queries)
        passes = [times] + [timed_searches(index, queries)[1] for _ in range(PASSES - 1)]
        adding = add3_ms(index, generator, size)
        results[kind] = KindResult(
            kind=kind,
            build_s=figures["build_s"],
            memory_mb=index_mb(index),
            p50_ms=float(np.median(times)),
            p99_ms=float(np.percentile(times, 99)),
            recall_at_1=float(
                np.mean([f[:1] == t[:1] for f, t in zip(found, nearest, strict=True)])
            ),
            recall_at_10=float(
                np.mean(
                    [len(set(f[:10]) & set(t)) / 10 for f, t in zip(found, nearest, strict=True)]
                )
            ),
            flat_p99_ms=flat_p99,
            restore_s=figures.get("restore_s", 0.0),
            load_average=os.getloadavg()[0],
            build_cpu_s=figures.get("build_cpu_s", 0.0),
            build_load=figures.get("build_load", 0.0),
            add3_ms=adding,
            cpu_p50_ms=float(np.median(cpu_times)),
            cpu_p99_ms=float(np.percentile(cpu_times, 99)),
            query_p99_ms=float(np.percentile(np.median(passes, axis=0), 99)),
            pass_p99_ms=[float(np.percentile(one, 99)) for one in passes],
            slowest_shared=_slowest_shared(passes),
        )
        del index
        gc.collect()
    return results


def _slowest_shared(passes: list[list[float]]) -> list[int]:
    """How many of the first pass's 1 % slowest queries each later pass has among its own."""
    count = max(len(passes[0]) // 100, 1)
    slowest = [set(np.argsort(times)[-count:].tolist()) for times in passes]
    return [len(slowest[0] & later) for later in slowest[1:]]


def run(
    *,
    sizes: list[int],
    dim: int,
    kinds: list[str],
    threads: int,
    as_json: bool,
    fit: Path | None = None,
    cache: Path | None = None,
) -> dict[str, object]:
    """Measure every size; print a table (or the JSON of the kinds the server would use)."""
    settings = get_settings()
    if fit is not None:
        print(json.dumps(fit_report(fit), indent=1))
    measured = {size: measure_size(size, dim, kinds, threads, cache) for size in sizes}
    chosen = {}
    for size, results in measured.items():
        kind = wanted_kind(
            current="flat", vectors=size, ann_min_vectors=settings.index_ann_min_vectors
        )
        chosen[str(size)] = asdict(results.get(kind, results["flat"]))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    everything = {str(s): {k: asdict(r) for k, r in rs.items()} for s, rs in measured.items()}
    (OUT_DIR / "search_bench.json").write_text(json.dumps(everything, indent=1))
    # With --json the table goes to stderr, so that stdout is the JSON alone.
    table = sys.stderr if as_json else sys.stdout
    print(
        f"{'size':>9} {'kind':>9} {'build s':>8} {'CPU s':>7} {'MB':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'R@1':>6} {'R@10':>6} {'flat p99 / p99':>14} {'add 3 ms':>8} "
        f"{'CPU p50/p99 ms':>15} {'load':>5} {'query p99':>9}",
        file=table,
    )
    for size, results in measured.items():
        for result in results.values():
            print(
                f"{size:>9} {result.kind:>9} {result.build_s:>8.1f} {result.build_cpu_s:>7.1f} "
                f"{result.memory_mb:>7.0f} {result.p50_ms:>7.2f} {result.p99_ms:>7.2f} "
                f"{result.recall_at_1:>6.3f} {result.recall_at_10:>6.3f} "
                f"{result.flat_p99_ms / result.p99_ms:>13.1f}x {result.add3_ms:>8.2f} "
                f"{result.cpu_p50_ms:>7.2f}/{result.cpu_p99_ms:<7.2f} {result.load_average:>5.1f} "
                f"{result.query_p99_ms:>9.2f}",
                file=table,
            )
    plot(measured)
    if as_json:
        print(json.dumps(chosen))
    return chosen


def plot(measured: dict[int, dict[str, KindResult]]) -> None:
    """p99 latency (wall and the search thread's CPU) against catalogue size per kind, log-log,
    to bench/out/search_bench.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    sizes = sorted(measured)
    for kind in dict.fromkeys(k for results in measured.values() for k in results):
        shown = [s for s in sizes if kind in measured[s]]
        (line,) = axes.loglog(
            shown, [measured[s][kind].p99_ms for s in shown], "o-", label=f"{kind} p99 wall"
        )
        axes.loglog(
            shown,
            [measured[s][kind].cpu_p99_ms for s in shown],
            "s--",
            color=line.get_color(),
            label=f"{kind} p99 CPU",
        )
    axes.axhline(5.0, color="grey", linestyle=":", label="5 ms aim")
    axes.set_xlabel("vectors in the index")
    axes.set_ylabel("single-query latency, ms (k = 32, one thread)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(OUT_DIR / "search_bench.png", dpi=120)
