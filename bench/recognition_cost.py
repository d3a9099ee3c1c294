"""Embedding cost per image of the default embedder at batch 1, 8 and 32, side by side.

    nice python bench/recognition_cost.py

Runs each configuration in a fresh process (the allocator setting is process-wide): glibc's
default allocator against the embedder's own setting, with 1 and 2 torch threads. Reports
wall and CPU milliseconds per image and minor page faults per image; writes
``bench/out/recognition_cost.png``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

BATCHES = (1, 8, 32)
CONFIGS = [
    ("glibc default", 1),
    ("keep freed memory", 1),
    ("glibc default", 2),
    ("keep freed memory", 2),
]


def measure(allocator: str, threads: int) -> dict[int, dict[str, float]]:
    import torch

    from ebrcs.embedding import mobilenet

    torch.set_num_threads(threads)
    if allocator == "glibc default":
        mobilenet.keep_freed_memory = lambda: None
    embedder = mobilenet.MobileNetV2Embedder(torch.device("cpu"))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(64)]
    embedder.embed(images[:8])
    result = {}
    for batch in BATCHES:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        wall, cpu = time.perf_counter(), time.process_time()
        for first in range(0, 64, batch):
            embedder.embed(images[first : first + batch])
        result[batch] = {
            "wall_ms": (time.perf_counter() - wall) / 64 * 1000,
            "cpu_ms": (time.process_time() - cpu) / 64 * 1000,
            "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / 64,
        }
    return result


def main() -> None:
    if len(sys.argv) == 3:
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
        return
    rows = {}
    for allocator, threads in CONFIGS:
        out = subprocess.run(
            [sys.executable, __file__, allocator, str(threads)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows[(allocator, threads)] = {int(k): v for k, v in json.loads(out).items()}
    base = rows[CONFIGS[0]]
    print(f"{'allocator':18s} threads  batch  wall ms/img  cpu ms/img  faults/img  cpu vs default")
    for (allocator, threads), result in rows.items():
        for batch in BATCHES:
            r = result[batch]
            ratio = base[batch]["cpu_ms"] / r["cpu_ms"]
            print(
                f"{allocator:18s} {threads:7d}  {batch:5d}  {r['wall_ms']:11.1f}  "
                f"{r['cpu_ms']:10.1f}  {r['faults']:10.0f}  {ratio:13.2f}x"
            )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for (allocator, threads), result in rows.items():
        ax.plot(
            BATCHES,
            [result[b]["cpu_ms"] for b in BATCHES],
            "o-",
            label=f"{allocator}, {threads} thr",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("CPU ms per image")
    ax.legend()
    fig.tight_layout()
    fig.savefig("bench/out/recognition_cost.png", dpi=120)


if __name__ == "__main__":
    main()
