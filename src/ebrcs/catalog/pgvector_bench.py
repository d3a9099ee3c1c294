"""``ebrcs bench pgvector``: PostgreSQL's pgvector HNSW as one index shared by every process.

On the vectors ``ebrcs bench search`` uses (same generator, same seed): bulk load and HNSW
build time, index and table size, single-query latency (k = 32, one connection) and recall
against exact search, and the cost of a registration (3 rows in one transaction) with the
index in place; beside it the in-process ``hnsw_pca`` index of the same vectors, whose
memory every server process pays once more. Needs a database with the ``vector`` extension.
"""

from __future__ import annotations

import json
import statistics
import time

import faiss
import numpy as np
import psycopg

from ebrcs.catalog.search_bench import (
    FLAT_TIMED,
    QUERIES,
    FeatureGenerator,
    GeneratorFit,
    K,
    build,
    index_mb,
    timed_searches,
)

TABLE = "bench_vectors"
REGISTRATIONS = 30
PG_EF_SEARCH = 256
PG_NEIGHBOURS = 16  # pgvector's default m
PG_EF_CONSTRUCTION = 64  # pgvector's default


def _copy_binary(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """Rows (id bigint, embedding vector) in PostgreSQL's binary COPY format."""
    dim = vectors.shape[1]
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("id_length", ">i4"),
            ("id", ">i8"),
            ("vector_length", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("values", ">f4", (dim,)),
        ]
    )
    rows = np.zeros(len(ids), dtype=row)
    rows["fields"], rows["id_length"], rows["id"] = 2, 8, ids
    rows["vector_length"], rows["dim"], rows["values"] = 4 + 4 * dim, dim, vectors
    return rows.tobytes()


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{value:.7g}" for value in vector.tolist()) + "]"


def run(*, dsn: str, size: int, dim: int, as_json: bool) -> dict[str, float]:
    """Measure pgvector at ``size`` vectors; print a table or JSON."""
    generator = FeatureGenerator(dim, GeneratorFit())
    figures: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
        connection.execute(f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, embedding vector({dim}))")
        start, queries = time.perf_counter(), []
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {TABLE} (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy,
        ):
            copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
            for ids, rows, chunk_queries in generator.chunks(size, QUERIES):
                copy.write(_copy_binary(ids, rows))
                queries.append(chunk_queries)
            copy.write(b"\xff\xff")
        figures["load_s"] = time.perf_counter() - start
        start = time.perf_counter()
        connection.execute(
            f"CREATE INDEX {TABLE}_hnsw ON {TABLE} USING hnsw (embedding vector_ip_ops) "
            f"WITH (m = {PG_NEIGHBOURS}, ef_construction = {PG_EF_CONSTRUCTION})"
        )
        figures["build_s"] = time.perf_counter() - start
        sizes = connection.execute(
            f"SELECT pg_relation_size('{TABLE}_hnsw'), pg_total_relation_size('{TABLE}')"
        ).fetchone()
        figures["index_mb"], figures["table_mb"] = sizes[0] / 1e6, sizes[1] / 1e6
        connection.execute(f"SET hnsw.ef_search = {PG_EF_SEARCH}")
        everything = np.concatenate(queries)
        found, times = [], []
        for query in everything:
            literal = _literal(query)
            start = time.perf_counter()
            rows = connection.execute(
                f"SELECT id FROM {TABLE} ORDER BY embedding <#> %s::vector LIMIT {K}", (literal,)
            ).fetchall()
            times.append((time.perf_counter() - start) * 1000)
            found.append([row[0] for row in rows])
        figures["p50_ms"] = float(np.median(times))
        figures["p99_ms"] = float(np.percentile(times, 99))
        registration = []
        next_id = size + 1
        for _ in range(REGISTRATIONS):
            rng = np.random.default_rng([7, next_id])
            shots = generator.shots(rng, generator.centres(rng, 1).repeat(3, axis=0))
            start = time.perf_counter()
            with connection.transaction():
                for offset, shot in enumerate(shots):
                    connection.execute(
                        f"INSERT INTO {TABLE} (id, embedding) VALUES (%s, %s::vector)",
                        (next_id + offset, _literal(shot)),
                    )
            registration.append((time.perf_counter() - start) * 1000)
            next_id += 3
        figures["registration_ms"] = statistics.median(registration)
        connection.execute(f"DROP TABLE {TABLE}")
    # Exact truth and the in-process index on the same vectors, after the database is done.
    flat, _, _, _ = build("flat", generator, size)
    nearest = [[hit.embedding_id for hit in hits] for hits in flat.search(everything, 10)]
    _, flat_times, _ = timed_searches(flat, everything[:FLAT_TIMED])
    del flat
    figures["flat_p99_ms"] = float(np.percentile(flat_times, 99))
    figures["recall_at_1"] = float(
        np.mean([f[:1] == t[:1] for f, t in zip(found, nearest, strict=True)])
    )
    figures["recall_at_10"] = float(
        np.mean([len(set(f[:10]) & set(t)) / 10 for f, t in zip(found, nearest, strict=True)])
    )
    faiss.omp_set_num_threads(2)
    local, seconds, _, _ = build("hnsw_pca", generator, size)
    faiss.omp_set_num_threads(1)
    found, local_times, _ = timed_searches(local, everything)
    figures["in_process_build_s"], figures["in_process_mb_per_process"] = seconds, index_mb(local)
    figures["in_process_p99_ms"] = float(np.percentile(local_times, 99))
    figures["in_process_recall_at_1"] = float(
        np.mean([f[:1] == t[:1] for f, t in zip(found, nearest, strict=True)])
    )
    if as_json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:>28} {value:10.3f}")
    return figures
