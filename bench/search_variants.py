"""Graph variants for the ``hnsw_pca`` index, side by side on the same synthetic catalogue.

The vectors are ``ebrcs bench search``'s (``catalog.search_bench.FeatureGenerator``, fitted to
real photo features), generated once per size and kept as ``.npy`` in ``--cache``. For each
variant (``pca<components>-m<M>-ef<efConstruction>``, optionally ``-sq8`` for a graph over 8-bit
scalar-quantised components) the graph is built with ``--threads`` OpenMP threads (wall and
CPU seconds of the whole process, and the load average, are printed) and kept in the cache;
then single queries (one thread, k = 32) are searched at each efSearch and re-rank depth:
p50/p99 wall and CPU ms, recall@1 and recall@10 against exact search of the full vectors.
``pca<components>-exact`` rows are the projection's own ceiling: the exact top ``rerank`` by
projected distance, re-ranked by full vectors. ``--bench-graph`` searches the graph that
``ebrcs bench search --cache`` built at this size instead, at each efSearch and re-rank depth;
``--renumbering`` searches that graph as it was built (nodes in arrival order), renumbered
breadth first, and renumbered on 2 MiB pages as a restart lays it out, query by query side by
side, at the shipped depth.

    nice -n 10 .venv/bin/python bench/search_variants.py --size 100000 \\
        --variants pca128-m32-ef40,pca128-m32-ef80 --ef 128,256,512 --rerank 192
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path
from unittest import mock

import faiss
import numpy as np

from ebrcs.catalog import vectors as index_kinds
from ebrcs.catalog.search_bench import (
    QUERIES,
    BuildCache,
    FeatureGenerator,
    GeneratorFit,
    K,
    built_as,
    timed_searches,
)
from ebrcs.catalog.snapshots import read_snapshot
from ebrcs.catalog.vectors import PCA_SAMPLE, HnswPcaVectors


def catalogue(size: int, dim: int, queries: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """The bench's vectors (row i has embedding id i + 1) and queries, from the cache if kept.

    The queries are drawn after each chunk's vectors, so their number leaves the vectors be.
    """
    stem = cache / f"variants-{size}x{dim}-{hash(GeneratorFit()) & 0xFFFFFFFF:x}"
    vectors_path, queries_path = (
        stem.with_suffix(".vectors.npy"),
        stem.with_suffix(f".q{queries}.npy"),
    )
    if not (vectors_path.is_file() and queries_path.is_file()):
        generator = FeatureGenerator(dim, GeneratorFit())
        vectors = np.lib.format.open_memmap(vectors_path, "w+", np.float32, (size, dim))
        drawn = []
        for ids, rows, chunk_queries in generator.chunks(size, queries):
            vectors[ids[0] - 1 : ids[-1]] = rows
            drawn.append(chunk_queries)
        vectors.flush()
        del vectors
        np.save(queries_path, np.concatenate(drawn))
    return np.load(vectors_path, mmap_mode="r"), np.load(queries_path)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Positions of each query's ``k`` best inner products, scanning the vectors in chunks."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 65536):
        chunk = np.ascontiguousarray(vectors[start : start + 65536])
        scores, positions = faiss.knn(queries, chunk, k, metric=faiss.METRIC_INNER_PRODUCT)
        scores = np.concatenate([best_scores, scores], axis=1)
        positions = np.concatenate([best, positions + start], axis=1)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(scores, top, axis=1)
        best = np.take_along_axis(positions, top, axis=1)
    return best


def projection(vectors: np.ndarray, components: int) -> faiss.PCAMatrix:
    """A PCA trained as ``HnswPcaVectors`` trains it: on a seeded sample of the store."""
    total = len(vectors)
    rng = np.random.default_rng(total)
    sample = np.sort(rng.choice(total, size=min(PCA_SAMPLE, total), replace=False))
    pca = faiss.PCAMatrix(vectors.shape[1], components)
    pca.train(np.ascontiguousarray(vectors[sample]))
    return pca


def projected(vectors: np.ndarray, pca: faiss.PCAMatrix) -> np.ndarray:
    """Every vector's components, a chunk at a time."""
    chunks = range(0, len(vectors), 65536)
    return np.concatenate([pca.apply(np.ascontiguousarray(vectors[s : s + 65536])) for s in chunks])


def build(name: str, points: np.ndarray, threads: int) -> tuple[faiss.Index, dict[str, float]]:
    """The graph a variant name describes over ``points``, and its build figures."""
    match = re.fullmatch(r"pca\d+-m(\d+)-ef(\d+)(-sq8)?", name)
    if match is None:
        raise ValueError(f"not a variant name: {name}")
    neighbours, construction = int(match[1]), int(match[2])
    if match[3]:
        graph = faiss.IndexHNSWSQ(points.shape[1], faiss.ScalarQuantizer.QT_8bit, neighbours)
        graph.train(points[:PCA_SAMPLE])
    else:
        graph = faiss.IndexHNSWFlat(points.shape[1], neighbours, faiss.METRIC_L2)
    graph.hnsw.efConstruction = construction
    faiss.omp_set_num_threads(threads)
    start, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(points), 65536):
        graph.add(points[first : first + 65536])
    figures = {
        "build_s": time.perf_counter() - start,
        "build_cpu_s": time.process_time() - cpu,
        "load_average": os.getloadavg()[0],
    }
    faiss.omp_set_num_threads(1)
    return graph, figures


def searched(
    graph: faiss.Index,
    pca: faiss.PCAMatrix,
    vectors: np.ndarray,
    queries: np.ndarray,
    ef: int,
    rerank: int,
) -> tuple[np.ndarray, list[float], list[float]]:
    """Top K positions per query (graph candidates re-ranked exactly), wall and CPU ms."""
    found, wall, cpu = np.zeros((len(queries), K), dtype=np.int64), [], []
    params = faiss.SearchParametersHNSW()
    params.efSearch = max(ef, rerank)
    for row, query in enumerate(queries):
        start, cpu_start = time.perf_counter(), time.thread_time()
        reduced = pca.apply(query[None, :])
        _, labels = graph.search(reduced, rerank, params=params)
        candidates = labels[0][labels[0] >= 0]
        exact = vectors[candidates] @ query
        found[row] = candidates[np.argsort(-exact, kind="stable")[:K]]
        cpu.append((time.thread_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return found, wall, cpu


def pairs(found: np.ndarray, truth: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each query's found positions beside its true ones."""
    return list(zip(found, truth, strict=True))


def ceiling(
    points: np.ndarray, pca: faiss.PCAMatrix, vectors: np.ndarray, queries: np.ndarray, rerank: int
) -> np.ndarray:
    """Top K positions per query when the exact ``rerank`` nearest projections are re-ranked."""
    reduced = pca.apply(queries)
    scan = faiss.IndexFlatL2(points.shape[1])
    scan.add(points)
    _, candidates = scan.search(reduced, rerank)
    found = np.zeros((len(queries), K), dtype=np.int64)
    for row, (query, rows) in enumerate(zip(queries, candidates, strict=True)):
        found[row] = rows[np.argsort(-(vectors[rows] @ query), kind="stable")[:K]]
    return found


def sweep_bench_graph(args: argparse.Namespace, queries: np.ndarray, truth: np.ndarray) -> None:
    """Search the ``hnsw_pca`` graph ``ebrcs bench search --cache`` kept at this size (built
    from the same vectors) at each efSearch and re-rank depth, as the server searches it."""
    restored = BuildCache(args.cache, args.size, args.dim).index("hnsw_pca", args.size)
    if restored is None:
        raise SystemExit(f"no graph of {args.size} vectors in {args.cache}: run ebrcs bench search")
    index, figures = restored
    print(f"restored in {figures['restore_s']:.0f} s; load average {os.getloadavg()}", flush=True)
    print(
        f"{'ef':>5} {'rerank':>6} {'p50 ms':>7} {'p99 ms':>7} {'CPU p50/p99':>12} "
        f"{'R@1':>6} {'R@10':>6}"
    )
    for ef in [int(e) for e in args.ef.split(",")]:
        for rerank in [int(r) for r in args.rerank.split(",")]:
            index_kinds.PCA_EF_SEARCH, index_kinds.RERANK_MIN = ef, rerank
            found, wall, cpu = timed_searches(index, queries)
            ids = np.array([row[:10] for row in found]) - 1  # embedding id i + 1 is row i
            print(
                f"{ef:>5} {rerank:>6} {np.median(wall):>7.2f} {np.percentile(wall, 99):>7.2f} "
                f"{np.median(cpu):>5.2f}/{np.percentile(cpu, 99):<6.2f} "
                f"{np.mean(ids[:, 0] == truth[:, 0]):>6.3f} "
                f"{np.mean([len(set(f) & set(t)) / 10 for f, t in pairs(ids, truth)]):>6.3f} "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


def compare_layouts(args: argparse.Namespace, queries: np.ndarray, truth: np.ndarray) -> None:
    """The bench's graph in arrival order, renumbered, and renumbered on huge pages as a
    restart lays it out (the shipped search), each query searched by all in turn, in an order
    that rotates. The first two share one copy of the store on 4 KiB pages."""
    stem = f"{args.size}x{args.dim}-{hash(GeneratorFit()) & 0xFFFFFFFF:x}"
    _, (store, graph) = read_snapshot(args.cache / f"{stem}-{built_as('hnsw_pca')}.faiss")
    stored = set(faiss.vector_to_array(store.id_map).tolist())
    small_pages = faiss.clone_index(store)
    with mock.patch.object(index_kinds, "back_with_huge_pages", lambda array: False):
        arrival = HnswPcaVectors(args.dim, small_pages, faiss.clone_index(graph))
        renumbered = HnswPcaVectors.from_parts(
            [small_pages, faiss.clone_index(graph)], findable=stored
        )
    start = time.process_time()
    laid_out = HnswPcaVectors.from_parts([store, graph], findable=stored)
    print(f"read back and laid out in {time.process_time() - start:.1f} CPU s", flush=True)
    kinds = {"arrival order": arrival, "renumbered": renumbered, "+ huge pages": laid_out}
    found = {name: np.zeros((len(queries), K), dtype=np.int64) for name in kinds}
    cpu: dict[str, list[float]] = {name: [] for name in kinds}
    for row, query in enumerate(queries):
        names = list(kinds)
        for name in names[row % 3 :] + names[: row % 3]:
            start = time.thread_time()
            found[name][row] = kinds[name].search(query[None, :], K)[1][0]
            cpu[name].append((time.thread_time() - start) * 1000)
    print(f"{'graph':>14} {'CPU p50/p99 ms':>15} {'R@1':>6} {'same as arrival':>15}")
    for name in kinds:
        ids = found[name] - 1  # embedding id i + 1 is row i
        print(
            f"{name:>14} {np.median(cpu[name]):>7.2f}/{np.percentile(cpu[name], 99):<7.2f} "
            f"{np.mean(ids[:, 0] == truth[:, 0]):>6.3f} "
            f"{np.mean(np.all(found[name] == found['arrival order'], axis=1)):>15.3f} "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--variants", default="pca128-m32-ef40")
    parser.add_argument("--ef", default="256,512,768")
    parser.add_argument("--rerank", default="192")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ebrcs-search/cache"))
    parser.add_argument(
        "--bench-graph",
        action="store_true",
        help="search the graph ebrcs bench search --cache built, instead of --variants",
    )
    parser.add_argument(
        "--renumbering",
        action="store_true",
        help="the bench's graph in arrival order, renumbered breadth first, and on huge pages",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    faiss.omp_set_num_threads(1)
    vectors, queries = catalogue(args.size, args.dim, args.queries, args.cache)
    truth_path = args.cache / f"variants-{args.size}-q{args.queries}.truth.npy"
    if not truth_path.is_file():
        np.save(truth_path, exact_top(vectors, queries, 10))
    truth = np.load(truth_path)
    if args.renumbering:
        compare_layouts(args, queries, truth)
        return
    if args.bench_graph:
        sweep_bench_graph(args, queries, truth)
        return
    vectors = np.ascontiguousarray(vectors)
    print(f"load average {os.getloadavg()}", flush=True)
    header = (
        f"{'variant':>24} {'build s':>8} {'CPU s':>7} {'load':>5} {'ef':>5} {'rerank':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'CPU p50/p99':>12} {'R@1':>6} {'R@10':>6}"
    )
    print(header, flush=True)
    results = []
    for name in args.variants.split(","):
        components = int(name.split("-")[0][3:])
        pca_path = args.cache / f"variants-{args.size}-pca{components}.pca"
        if pca_path.is_file():
            pca = faiss.read_VectorTransform(str(pca_path))
        else:
            pca = projection(vectors, components)
            faiss.write_VectorTransform(pca, str(pca_path))
        points = projected(vectors, pca)
        graph_path = args.cache / f"variants-{args.size}-{name}.faiss"
        figures_path = graph_path.with_suffix(".json")
        graph = None
        if name.endswith("-exact"):
            figures = {"build_s": 0.0, "build_cpu_s": 0.0, "load_average": os.getloadavg()[0]}
        elif graph_path.is_file() and figures_path.is_file():
            graph, figures = faiss.read_index(str(graph_path)), json.loads(figures_path.read_text())
        else:
            graph, figures = build(name, points, args.threads)
            faiss.write_index(graph, str(graph_path))
            figures_path.write_text(json.dumps(figures))
        exact = name.endswith("-exact")
        depths = [0] if exact else [int(e) for e in args.ef.split(",")]
        for ef in depths:
            for rerank in [int(r) for r in args.rerank.split(",")]:
                if exact:
                    found, wall, cpu = ceiling(points, pca, vectors, queries, rerank), [0.0], [0.0]
                else:
                    found, wall, cpu = searched(graph, pca, vectors, queries, ef, rerank)
                row = {
                    "variant": name,
                    **figures,
                    "ef": ef,
                    "rerank": rerank,
                    "p50_ms": float(np.median(wall)),
                    "p99_ms": float(np.percentile(wall, 99)),
                    "cpu_p50_ms": float(np.median(cpu)),
                    "cpu_p99_ms": float(np.percentile(cpu, 99)),
                    "recall_at_1": float(np.mean(found[:, 0] == truth[:, 0])),
                    "recall_at_10": float(
                        np.mean([len(set(f[:10]) & set(t)) / 10 for f, t in pairs(found, truth)])
                    ),
                    "search_load": os.getloadavg()[0],
                }
                results.append(row)
                print(
                    f"{name:>24} {row['build_s']:>8.1f} {row['build_cpu_s']:>7.1f} "
                    f"{row['load_average']:>5.1f} {ef:>5} {rerank:>6} {row['p50_ms']:>7.2f} "
                    f"{row['p99_ms']:>7.2f} {row['cpu_p50_ms']:>5.2f}/{row['cpu_p99_ms']:<6.2f} "
                    f"{row['recall_at_1']:>6.3f} {row['recall_at_10']:>6.3f}",
                    flush=True,
                )
        del graph, points
    out = Path("bench") / "out" / f"search_variants_{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
