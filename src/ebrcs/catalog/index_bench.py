"""``ebrcs bench index``: the product index, from the original's table to a million vectors.

Parts, each a side-by-side comparison in one run:
1. the original's table: rebuilding the index vs adding 3 vectors, 100 to 10k vectors;
2. durable registration of 3 precomputed vectors as the server does it (one DB transaction,
   then the index add) vs the original's way (load + append + ``np.save`` of the whole arrays
   + ``faiss.write_index``), on the database ``EBRCS_DATABASE_URL`` names; and the whole
   registration with its three photo files written and fsynced;
3. single-query search latency and recall@1 of HNSW against exact (flat) search;
4. search throughput of concurrent readers, with and without a writer, under the thread
   readers-writer lock the index uses and under ``aiorwlock``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import flows
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.models import Product
from ebrcs.catalog.rwlock import ReadWriteLock
from ebrcs.config import Settings
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine

OUT_DIR = Path("bench") / "out"
"""Plots go here, under the working directory (a source checkout's bench/out)."""
ORIGINAL_SIZES = (100, 500, 1_000, 5_000, 10_000)
DEFAULT_SIZES = (10_000, 100_000)  # add 1_000_000 with --sizes: its bulk fill takes minutes
SEED_STYLE_MAX = 100_000  # the original's way rewrites ~2n*d*4 bytes per add; 1M would be 10 GB
ANN_MAX = 20_000  # HNSW insertion at 1280-d costs ~1.5 ms per vector on this box
ADD = 3
REPEATS = 15
QUERIES = 30
READERS = 4
THROUGHPUT_SIZE = 20_000
THROUGHPUT_SECONDS = 4.0
WRITE_INTERVAL = 0.05  # a registration every 50 ms: far busier than any shop


def median_ms(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``action`` in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class Catalogue:
    """Synthetic products: a centre each and three noisy unit-vector shots of it."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        self.dim = dim
        self.rng = np.random.default_rng(seed)

    def photo_of(self, stored: np.ndarray) -> np.ndarray:
        """Another shot of the products behind ``stored`` vectors (a checkout photo)."""
        vectors = stored + 0.6 * self.rng.standard_normal(stored.shape, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def shots(self, count: int) -> np.ndarray:
        """``count`` unit vectors, three per product, like registered photos."""
        products = -(-count // ADD)
        centres = self.rng.standard_normal((products, self.dim), dtype=np.float32)
        vectors = np.repeat(centres, ADD, axis=0)[:count]
        vectors += 0.6 * self.rng.standard_normal(vectors.shape, dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors


def original_row(size: int, dim: int, catalogue: Catalogue) -> dict[str, float]:
    """Rebuild of the whole index vs incremental add of 3 vectors, at one size."""
    existing = catalogue.shots(size)
    new = catalogue.shots(ADD)
    everything = np.vstack([existing, new])

    def rebuild() -> None:
        index = faiss.IndexFlatIP(dim)
        index.add(everything)

    index = ProductIndex(dim)
    index.add(np.arange(1, size + 1), existing, [uuid.uuid4()] * size)
    next_id = [size + 1]

    def incremental() -> None:
        ids = np.arange(next_id[0], next_id[0] + ADD)
        next_id[0] += ADD
        index.add(ids, new, [uuid.uuid4()] * ADD)

    return {
        "rebuild_ms": median_ms(rebuild, REPEATS),
        "incremental_ms": median_ms(incremental, REPEATS),
    }


def part_original(dim: int) -> dict[int, dict[str, float]]:
    """(1) The original's table, at its sizes."""
    catalogue = Catalogue(dim, seed=1)
    return {size: original_row(size, dim, catalogue) for size in ORIGINAL_SIZES}


class PrecomputedEmbedder:
    """Hands out precomputed vectors, so registration timing excludes the network."""

    id = "bench"

    def __init__(self, dim: int, catalogue: Catalogue) -> None:
        self.dim = dim
        self.catalogue = catalogue

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The next precomputed shots, one per image."""
        return self.catalogue.shots(len(images))


def tiny_photo(seed: int) -> bytes:
    """A small PNG, like an upload after the size checks."""
    pixels = np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def fill_database(db: Session, *, start: int, stop: int, dim: int) -> None:
    """Bulk-insert image rows ``start+1..stop`` (three per product) with real-size vectors."""
    blob = np.random.default_rng(start).bytes(dim * 4)
    params = {"start": start + 1, "stop": stop, "blob": blob, "dim": dim}
    if db.bind.dialect.name == "sqlite":  # type: ignore[union-attr]
        series = (
            "WITH RECURSIVE seq(k) AS (SELECT :start UNION ALL SELECT k + 1 FROM seq "
            "WHERE k < :stop) "
        )
        product_uuid = "printf('%016x%016x', :start, (k - :start) / 3)"
        image_uuid = "printf('%016x%016x', 0, k)"
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        source = "FROM seq"
    else:
        series = ""
        product_uuid = (
            "(lpad(to_hex(CAST(:start AS bigint)), 16, '0') "
            "|| lpad(to_hex((k - :start) / 3), 16, '0'))::uuid"
        )
        image_uuid = "lpad(to_hex(k), 32, '0')::uuid"
        now = "now()"
        source = "FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS k"
    db.execute(
        text(
            f"{series}INSERT INTO products (id, name, price, created_at, updated_at, is_active) "
            f"SELECT {product_uuid}, 'bench product', 1, {now}, {now}, true {source} "
            "WHERE (k - :start) % 3 = 0"
        ),
        params,
    )
    db.execute(
        text(
            f"{series}INSERT INTO product_images (id, product_id, image_path, embedding_id, "
            "embedding, embedding_dim, embedder_id, created_at) "
            f"SELECT {image_uuid}, {product_uuid}, '', k, :blob, :dim, 'bench', {now} {source}"
        ),
        params,
    )
    db.execute(
        text("UPDATE id_counters SET last_value = :stop WHERE name = 'embedding_id'"), params
    )
    db.commit()


def empty_database(db: Session) -> None:
    """Remove every bench row, so the database is left as it was found."""
    db.execute(text("DELETE FROM product_images"))
    db.execute(text("DELETE FROM products"))
    db.execute(text("UPDATE id_counters SET last_value = 0 WHERE name = 'embedding_id'"))
    db.commit()


def seed_style_add_ms(work: Path, index_flat: faiss.Index, size: int, dim: int) -> float:
    """The original's addition: load, append, save both arrays and the whole index."""
    catalogue = Catalogue(dim, seed=3)
    embeddings, labels = work / "embeddings.npy", work / "labels.npy"
    np.save(embeddings, catalogue.shots(size))
    np.save(labels, np.array([f"product {i // ADD}" for i in range(size)]))

    def add() -> None:
        new = catalogue.shots(ADD)
        np.save(embeddings, np.vstack([np.load(embeddings), new]))
        np.save(labels, np.concatenate([np.load(labels), np.array(["new product"] * ADD)]))
        index_flat.add(new)
        faiss.write_index(index_flat, str(work / "faiss.index"))

    result = median_ms(add, 5)
    for path in (embeddings, labels, work / "faiss.index"):
        path.unlink()
    return result


def top_ids(index: ProductIndex, queries: np.ndarray) -> np.ndarray:
    """The nearest id of each query, one query at a time as recognition asks."""
    return np.array([index.search(query[None, :], 20)[0][0].embedding_id for query in queries])


def search_ms(index: ProductIndex, queries: np.ndarray) -> float:
    """Median latency of one k=20 search."""
    return statistics.median(
        median_ms(lambda q=query: index.search(q[None, :], 20), 1) for query in queries
    )


def search_part(
    index: ProductIndex, kept: list[np.ndarray], queries: np.ndarray, size: int
) -> dict[str, float]:
    """(3) Latency of flat search; HNSW's latency and recall@1 against exact when built."""
    row = {"search_ms": search_ms(index, queries)}
    if size <= ANN_MAX and kept:
        stacked = np.vstack(kept)
        ids = np.arange(1, len(stacked) + 1)
        exact, hnsw = ProductIndex(index.dim), ProductIndex(index.dim, "hnsw")
        exact.add(ids, stacked, [uuid.uuid4()] * len(ids))
        start = time.perf_counter()
        hnsw.add(ids, stacked, [uuid.uuid4()] * len(ids))
        row["hnsw_build_s"] = time.perf_counter() - start
        row["hnsw_search_ms"] = search_ms(hnsw, queries)
        truth, found = top_ids(exact, queries), top_ids(hnsw, queries)
        row["hnsw_recall_at_1"] = float(np.mean(truth == found))
        # Three shots per product, in id order: the same product is the same (id - 1) // 3.
        row["hnsw_product_recall_at_1"] = float(np.mean((truth - 1) // ADD == (found - 1) // ADD))
    return row


def part_durable_and_search(
    sizes: Sequence[int], dim: int, url: str
) -> dict[int, dict[str, float]]:
    """(2) and (3): grow one catalogue through the sizes, measuring at each."""
    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    catalogue = Catalogue(dim, seed=2)
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ebrcs-bench-") as work_dir:
        work = Path(work_dir)
        settings = Settings(data_dir=work / "var", database_url=url, jwt_secret="bench")
        index = ProductIndex(dim, embedder_id=PrecomputedEmbedder.id)
        embedder = PrecomputedEmbedder(dim, catalogue)
        kept: list[np.ndarray] = []
        samples: list[np.ndarray] = []
        filled = 0
        photos = [tiny_photo(i) for i in range(ADD)]
        with sessions() as db:
            if db.scalar(text("SELECT count(*) FROM products")):
                raise SystemExit("the bench needs an empty catalogue database")
        try:
            for size in sorted(sizes):
                with sessions() as db:
                    fill_database(db, start=filled, stop=size, dim=dim)
                for start in range(filled, size, 100_000):
                    chunk = catalogue.shots(min(100_000, size - start))
                    index.add(
                        np.arange(start + 1, start + len(chunk) + 1),
                        chunk,
                        [uuid.uuid4()] * len(chunk),
                    )
                    if size <= ANN_MAX:
                        kept.append(chunk)
                    samples.append(chunk[:QUERIES])
                filled = size

                def durable_add() -> None:
                    with sessions() as db:
                        product = Product(id=uuid.uuid4(), name=f"bench {uuid.uuid4()}")
                        db.add(product)
                        flows.commit_vectors(
                            db=db,
                            index=index,
                            product=product,
                            image_ids=[uuid.uuid4() for _ in range(ADD)],
                            paths=[""] * ADD,
                            vectors=catalogue.shots(ADD),
                            max_photos=None,
                        )

                def registration_with_photos() -> None:
                    with sessions() as db:
                        flows.register_product(
                            db=db,
                            index=index,
                            embedder=embedder,
                            settings=settings,
                            fields={"name": f"bench {uuid.uuid4()}"},  # names are unique
                            uploads=photos,
                            created_by=None,
                        )

                row = {
                    "durable_add_ms": median_ms(durable_add, REPEATS),
                    "with_photos_ms": median_ms(registration_with_photos, REPEATS),
                }
                filled += 2 * ADD * REPEATS
                if size <= SEED_STYLE_MAX:
                    flat = faiss.IndexFlatIP(dim)
                    flat.add(catalogue.shots(size))
                    row["seed_style_add_ms"] = seed_style_add_ms(work, flat, size, dim)
                    del flat
                pool = np.vstack(samples)
                picked = np.random.default_rng(size).choice(len(pool), QUERIES, replace=False)
                queries = catalogue.photo_of(pool[picked])
                row.update(search_part(index, kept, queries, size))
                results[size] = row
        finally:
            with sessions() as db:
                empty_database(db)
            engine.dispose()
    return results


def part_concurrency(dim: int) -> dict[str, float]:
    """(4) Searches per second of concurrent readers, without and with a writer."""
    catalogue = Catalogue(dim, seed=4)
    queries = catalogue.shots(64)
    results = {}
    for variant in ("thread_rwlock", "aiorwlock"):
        for with_writer in (False, True):
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
            index.add_with_ids(catalogue.shots(THROUGHPUT_SIZE), np.arange(THROUGHPUT_SIZE))
            runner = run_threads if variant == "thread_rwlock" else run_asyncio
            searches, adds = runner(index, queries, catalogue, with_writer)
            key = f"{variant}_{'with' if with_writer else 'without'}_writer"
            results[f"{key}_searches_per_s"] = searches / THROUGHPUT_SECONDS
            results[f"{key}_adds_per_s"] = adds / THROUGHPUT_SECONDS
    return results


def run_threads(
    index: faiss.Index, queries: np.ndarray, catalogue: Catalogue, with_writer: bool
) -> tuple[int, int]:
    """Reader threads searching under the thread lock, and optionally a writer adding."""
    lock = ReadWriteLock()
    stop = threading.Event()
    counts = [0] * (READERS + 1)
    next_id = [THROUGHPUT_SIZE]

    def reader(slot: int) -> None:
        while not stop.is_set():
            with lock.read():
                index.search(queries[slot % len(queries)][None, :], 20)
            counts[slot] += 1

    def writer() -> None:
        while not stop.is_set():
            new = catalogue.shots(ADD)
            with lock.write():
                index.add_with_ids(new, np.arange(next_id[0], next_id[0] + ADD))
            next_id[0] += ADD
            counts[READERS] += 1
            stop.wait(WRITE_INTERVAL)

    threads = [threading.Thread(target=reader, args=(slot,)) for slot in range(READERS)]
    if with_writer:
        threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    time.sleep(THROUGHPUT_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts[:READERS]), counts[READERS]


def run_asyncio(
    index: faiss.Index, queries: np.ndarray, catalogue: Catalogue, with_writer: bool
) -> tuple[int, int]:
    """The same under ``aiorwlock``: tasks take the lock, FAISS runs in worker threads."""
    import aiorwlock  # the bench extra

    async def main() -> tuple[int, int]:
        lock = aiorwlock.RWLock()
        counts = [0] * (READERS + 1)
        deadline = time.monotonic() + THROUGHPUT_SECONDS
        next_id = [THROUGHPUT_SIZE]

        async def reader(slot: int) -> None:
            while time.monotonic() < deadline:
                async with lock.reader_lock:
                    query = queries[slot % len(queries)][None, :]
                    await asyncio.to_thread(index.search, query, 20)
                counts[slot] += 1

        async def writer() -> None:
            while time.monotonic() < deadline:
                new = catalogue.shots(ADD)
                ids = np.arange(next_id[0], next_id[0] + ADD)
                async with lock.writer_lock:
                    await asyncio.to_thread(index.add_with_ids, new, ids)
                next_id[0] += ADD
                counts[READERS] += 1
                await asyncio.sleep(WRITE_INTERVAL)

        tasks = [reader(slot) for slot in range(READERS)] + ([writer()] if with_writer else [])
        await asyncio.gather(*tasks)
        return sum(counts[:READERS]), counts[READERS]

    return asyncio.run(main())


def print_tables(original: dict, durable: dict, concurrency: dict, backend: str) -> None:
    """The results as plain-text tables."""
    print("\n(1) original's table: rebuild vs incremental add of 3 vectors (ms, median)")
    print(f"{'vectors':>10} {'rebuild':>10} {'incremental':>12} {'ratio':>8}")
    for size, row in original.items():
        ratio = row["rebuild_ms"] / row["incremental_ms"]
        print(
            f"{size:>10} {row['rebuild_ms']:>10.3f} {row['incremental_ms']:>12.3f} {ratio:>7.0f}x"
        )
    print(f"\n(2) durable registration of 3 vectors on {backend} (ms, median)")
    print(f"{'vectors':>10} {'durable':>10} {'original':>10} {'ratio':>8} {'+photos':>10}")
    for size, row in durable.items():
        seed = row.get("seed_style_add_ms")
        ratio = f"{seed / row['durable_add_ms']:>7.0f}x" if seed else f"{'-':>8}"
        seed_text = f"{seed:>10.1f}" if seed else f"{'-':>10}"
        print(
            f"{size:>10} {row['durable_add_ms']:>10.2f} {seed_text} {ratio} "
            f"{row['with_photos_ms']:>10.2f}"
        )
    print("\n(3) single-query search, k=20 (ms, median); HNSW recall@1 against flat")
    print(
        f"{'vectors':>10} {'flat':>10} {'hnsw':>10} {'recall@1':>9} {'product r@1':>12} "
        f"{'hnsw build s':>13}"
    )
    for size, row in durable.items():
        if "hnsw_search_ms" in row:
            hnsw = (
                f"{row['hnsw_search_ms']:>10.2f} {row['hnsw_recall_at_1']:>9.2f} "
                f"{row['hnsw_product_recall_at_1']:>12.2f} {row['hnsw_build_s']:>13.1f}"
            )
        else:
            hnsw = f"{'-':>10} {'-':>9} {'-':>12} {'-':>13}"
        print(f"{size:>10} {row['search_ms']:>10.2f} {hnsw}")
    print(f"\n(4) {READERS} readers, {THROUGHPUT_SIZE} vectors: searches/s (writer adds/s)")
    for variant in ("thread_rwlock", "aiorwlock"):
        alone = concurrency[f"{variant}_without_writer_searches_per_s"]
        shared = concurrency[f"{variant}_with_writer_searches_per_s"]
        adds = concurrency[f"{variant}_with_writer_adds_per_s"]
        print(f"{variant:>14}: {alone:8.1f} alone, {shared:8.1f} with a writer ({adds:.0f} adds/s)")


def plot(original: dict, durable: dict, concurrency: dict, backend: str) -> Path:
    """Write the four parts as one PNG under bench/out/."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(20, 4.5))
    sizes = list(original)
    axes[0].loglog(sizes, [original[s]["rebuild_ms"] for s in sizes], "o-", label="rebuild")
    axes[0].loglog(sizes, [original[s]["incremental_ms"] for s in sizes], "o-", label="add 3")
    axes[0].set(title="(1) rebuild vs incremental", xlabel="vectors", ylabel="ms")
    sizes = list(durable)
    axes[1].loglog(sizes, [durable[s]["durable_add_ms"] for s in sizes], "o-", label="durable")
    seed_sizes = [s for s in sizes if "seed_style_add_ms" in durable[s]]
    axes[1].loglog(
        seed_sizes, [durable[s]["seed_style_add_ms"] for s in seed_sizes], "o-", label="original"
    )
    axes[1].set(title=f"(2) durable add of 3 ({backend})", xlabel="vectors", ylabel="ms")
    axes[2].loglog(sizes, [durable[s]["search_ms"] for s in sizes], "o-", label="flat")
    ann = [s for s in sizes if "hnsw_search_ms" in durable[s]]
    axes[2].loglog(ann, [durable[s]["hnsw_search_ms"] for s in ann], "o-", label="hnsw")
    axes[2].set(title="(3) search latency", xlabel="vectors", ylabel="ms")
    labels = ["thread alone", "thread + writer", "aiorwlock alone", "aiorwlock + writer"]
    keys = [
        "thread_rwlock_without_writer",
        "thread_rwlock_with_writer",
        "aiorwlock_without_writer",
        "aiorwlock_with_writer",
    ]
    axes[3].bar(labels, [concurrency[f"{key}_searches_per_s"] for key in keys])
    axes[3].set(title="(4) reader throughput", ylabel="searches/s")
    axes[3].tick_params(axis="x", rotation=20)
    for axis in axes[:3]:
        axis.legend()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"index_{backend}.png"
    figure.tight_layout()
    figure.savefig(path)
    return path


def run(*, sizes: Sequence[int] | None, dim: int, as_json: bool) -> None:
    """Run all four parts and report them as tables (or JSON) and a PNG."""
    settings = Settings()
    url = settings.resolved_database_url if settings.database_url else None
    with tempfile.TemporaryDirectory(prefix="ebrcs-bench-db-") as scratch:
        url = url or f"sqlite:///{Path(scratch) / 'bench.db'}"
        migrate.upgrade(url)
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        original = part_original(dim)
        durable = part_durable_and_search(sizes or DEFAULT_SIZES, dim, url)
    concurrency = part_concurrency(dim)
    path = plot(original, durable, concurrency, backend)
    if as_json:
        merged: dict[int, dict[str, float]] = {}
        for table in (original, durable):
            for size, row in table.items():
                merged.setdefault(size, {}).update(row)
        print(json.dumps({"backend": backend, "dim": dim, "sizes": merged, **concurrency}))
    else:
        print_tables(original, durable, concurrency, backend)
        print(f"\nplot: {path}  (cpus: {os.cpu_count()})")
