"""How long a snapshot makes registrations wait: a product added every 50 ms during the write.

The index is the ``hnsw_pca`` graph ``ebrcs bench search --cache`` kept at this size, restored
as a restart does. Printed: the snapshot's seconds, the seconds its graph part held the read
lock (the rest is copied ``EXPORT_CHUNK_ROWS`` rows per hold), and the wall time of each
``ProductIndex.add`` of 3 vectors made meanwhile (median and longest), beside the same
registrations for as long again with no snapshot running (the box's own noise).

    nice -n 10 .venv/bin/python bench/snapshot_stall.py --size 1000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ebrcs.catalog.search_bench import SHOTS, BuildCache, FeatureGenerator, GeneratorFit, owner_of
from ebrcs.catalog.snapshots import write_snapshot

INTERVAL = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ebrcs-search/cache"))
    args = parser.parse_args()
    restored = BuildCache(args.cache, args.size, args.dim).index("hnsw_pca", args.size)
    if restored is None:
        raise SystemExit(f"no graph of {args.size} vectors in {args.cache}: run ebrcs bench search")
    index, _ = restored
    generator = FeatureGenerator(args.dim, GeneratorFit())
    export, held = index.export, []

    def timed_export(write_parts):
        def timed(parts) -> None:
            start = time.perf_counter()
            write_parts(parts)
            held.append(time.perf_counter() - start)

        return export(timed)

    index.export = timed_export
    done = threading.Event()

    def register(first: int, adds: list[float]) -> None:
        product = first
        while not done.is_set():
            rng = np.random.default_rng([7, product])
            shots = generator.shots(rng, generator.centres(rng, 1).repeat(SHOTS, axis=0))
            ids = np.arange(SHOTS) + args.size + 1 + product * SHOTS
            start = time.perf_counter()
            index.add(ids, shots, [owner_of(int(i)) for i in ids])
            adds.append(time.perf_counter() - start)
            product += 1
            done.wait(INTERVAL)

    during: list[float] = []
    registering = threading.Thread(target=register, args=(0, during))
    with tempfile.TemporaryDirectory(dir=args.cache) as folder:
        registering.start()
        start = time.perf_counter()
        write_snapshot(index, Path(folder) / "products.faiss")
        seconds = time.perf_counter() - start
        done.set()
        registering.join()
    alone: list[float] = []
    done.clear()
    registering = threading.Thread(target=register, args=(len(during), alone))
    registering.start()
    done.wait(seconds)
    done.set()
    registering.join()
    print(f"{args.size} vectors, load average {os.getloadavg()[0]:.1f}")
    print(f"snapshot {seconds:.1f} s, graph part under the read lock {held[0]:.2f} s")
    for name, adds in (("during the snapshot", during), ("with no snapshot", alone)):
        print(
            f"{len(adds)} registrations {name}: median {np.median(adds) * 1000:.1f} ms, "
            f"longest {max(adds) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
