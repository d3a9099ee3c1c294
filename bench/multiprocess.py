"""Several server processes on one PostgreSQL: index propagation and recognition throughput.

Part 1 starts two servers on one fresh database, registers products through the first and
measures how long each takes to become searchable in the second (its index watermark
reaching the database's), then the same for deactivations (its index shrinking).
Part 2 serves the same catalogue with ``ebrcs serve --workers N`` for each N and measures
``POST /api/recognize`` throughput from a fixed number of concurrent clients.

    nice .venv/bin/python bench/multiprocess.py                       # ~4 minutes on 2 cores
    nice .venv/bin/python bench/multiprocess.py --registrations 10 --workers 1 2 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import numpy as np
import psycopg
from sqlalchemy.orm import Session

from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from _common import PASSWORD, Server, photo

OUT = Path(__file__).resolve().parent / "out"
ADMIN_DSN = os.environ.get("EBRCS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_database() -> str:
    """A new, migrated PostgreSQL database; returns its URL."""
    name = f"ebrcs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with Session(engine) as db:
        users.create(db=db, username="bench_admin", password=PASSWORD, role=Role.ADMIN)
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    """Remove a database made by ``fresh_database``."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def login(server: Server) -> dict[str, str]:
    """Bearer headers of the bench admin."""
    response = httpx.post(
        f"{server.url}/api/auth/login", data={"username": "bench_admin", "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def register(server: Server, headers: dict[str, str], seed: int) -> str:
    """Register one product with one photo; returns its id."""
    response = httpx.post(
        f"{server.url}/api/products",
        data={"name": f"Bench product {seed}", "price": "1.00"},
        files={"images": ("p.jpg", photo(seed), "image/jpeg")},
        headers=headers,
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["product_id"]


def wait_for(server: Server, done: Callable[[dict[str, Any]], bool]) -> float:
    """Seconds until ``done(health)`` holds on ``server``."""
    start = time.perf_counter()
    while not done(httpx.get(f"{server.url}/api/health", timeout=10).json()):
        time.sleep(0.002)
    return time.perf_counter() - start


def propagation(registrations: int, work: Path) -> dict[str, list[float]]:
    """Seconds from a change's HTTP response on one process to the other process having it."""
    url = fresh_database()
    env = {
        "EBRCS_DATABASE_URL": url,
        "EBRCS_DATA_DIR": str(work / "var"),
        "EBRCS_JWT_SECRET": "bench-" + uuid.uuid4().hex,
    }
    servers = [Server(env, work / f"server-{name}.log") for name in "ab"]
    registrar, follower = servers
    try:
        headers = login(registrar)
        added, removed, product_ids = [], [], []
        for seed in range(registrations):
            product_ids.append(register(registrar, headers, seed))
            target = httpx.get(f"{registrar.url}/api/health").json()["index"]["watermark"]
            added.append(wait_for(follower, lambda h, t=target: h["index"]["watermark"] >= t))
        for product_id in product_ids[: max(1, registrations // 5)]:
            size = httpx.get(f"{follower.url}/api/health").json()["index_size"]
            httpx.delete(f"{registrar.url}/api/products/{product_id}", headers=headers)
            removed.append(wait_for(follower, lambda h, s=size: h["index_size"] < s))
        return {"register": added, "deactivate": removed}
    finally:
        for server in servers:
            server.stop()
        drop_database(url)


def throughput(
    worker_counts: list[int], seconds: float, clients: int, work: Path
) -> dict[int, dict[str, float]]:
    """Recognitions per second served by ``ebrcs serve --workers N`` for each N."""
    url = fresh_database()
    env = {
        "EBRCS_DATABASE_URL": url,
        "EBRCS_DATA_DIR": str(work / "var-throughput"),
        "EBRCS_JWT_SECRET": "bench-" + uuid.uuid4().hex,
    }
    results = {}
    try:
        for workers in worker_counts:
            server = Server(env, work / f"workers-{workers}.log", workers=workers)
            try:
                headers = login(server)
                if workers == worker_counts[0]:
                    for seed in range(50):
                        register(server, headers, seed)
                results[workers] = _hammer(server, headers, seconds, clients)
            finally:
                server.stop()
    finally:
        drop_database(url)
    return results


def _hammer(
    server: Server, headers: dict[str, str], seconds: float, clients: int
) -> dict[str, float]:
    query = photo(7)
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                response = http.post(
                    f"{server.url}/api/recognize",
                    files={"image": ("q.jpg", query, "image/jpeg")},
                    headers=headers,
                )
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "requests_per_s": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * float(np.percentile(latencies, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = OUT / "multiprocess"
    work.mkdir(parents=True, exist_ok=True)

    delays = propagation(args.registrations, work)
    rates = throughput(args.workers, args.seconds, args.clients, work)

    print(f"\nPropagation to the second process (ms), {args.registrations} registrations")
    print(f"{'change':<12}{'n':>4}{'p50':>9}{'p95':>9}{'max':>9}")
    for change, values in delays.items():
        ms = 1000 * np.array(values)
        print(
            f"{change:<12}{len(ms):>4}{np.median(ms):>9.1f}"
            f"{np.percentile(ms, 95):>9.1f}{ms.max():>9.1f}"
        )
    base = rates[args.workers[0]]["requests_per_s"]
    print(f"\nPOST /api/recognize, {args.clients} concurrent clients, {args.seconds:.0f} s each")
    print(f"{'workers':>8}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for workers, rate in rates.items():
        print(
            f"{workers:>8}{rate['requests_per_s']:>9.1f}{rate['requests_per_s'] / base:>8.2f}"
            f"{rate['p50_ms']:>9.1f}{rate['p95_ms']:>9.1f}"
        )

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.hist([1000 * np.array(v) for v in delays.values()], bins=20, label=list(delays))
    left.set(xlabel="ms until the other process has it", ylabel="changes", title="Propagation")
    left.legend()
    right.bar([str(w) for w in rates], [r["requests_per_s"] for r in rates.values()])
    right.set(xlabel="workers", ylabel="recognitions / s", title="Throughput")
    figure.tight_layout()
    figure.savefig(OUT / "multiprocess.png", dpi=120)
    print(f"\nplot: {OUT / 'multiprocess.png'}")
    if args.json:
        print(json.dumps({"propagation_s": delays, "throughput": rates}))


if __name__ == "__main__":
    main()
