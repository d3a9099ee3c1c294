"""Per-crop recognition cost on one core: today's embedder against the pair, adapter included.

    python bench/adapter_cost.py

For ``mobilenet_v2`` and ``mnv2_effl2`` on one torch thread: CPU milliseconds per crop at batch
1 (one crop) and batch 4 (a track's crops recognised together), and the cost of adapting the
vectors with an adapter of the size a catalogue of 81 products gets (80 dimensions).
CPU time, not wall time, so a busy machine inflates it less.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ebrcs.adaptation.adapter import Adapter
from ebrcs.config import Settings
from ebrcs.embedding.registry import load_embedder

CROPS = 24


def cpu_ms_per_crop(run, items: list[np.ndarray], batch: int) -> float:
    run(np.stack(items[:batch]) if items[0].ndim == 1 else items[:batch])
    began = time.process_time()
    for first in range(0, len(items), batch):
        chunk = items[first : first + batch]
        run(np.stack(chunk) if chunk[0].ndim == 1 else chunk)
    return (time.process_time() - began) / len(items) * 1000


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (200, 160, 3), dtype=np.uint8) for _ in range(CROPS)]
    print("embedder       batch 1 ms batch 4 ms  adapt ms  track of 4 ms")
    for name in ("mobilenet_v2", "mnv2_effl2"):
        embedder = load_embedder(Settings(embedder=name, device="cpu", embed_threads=1))
        adapter = Adapter(name, rng.normal(size=embedder.dim), rng.normal(size=(embedder.dim, 80)))
        one = cpu_ms_per_crop(embedder.embed, crops, 1)
        four = cpu_ms_per_crop(embedder.embed, crops, 4)
        adapt = cpu_ms_per_crop(adapter.transform, list(embedder.embed(crops)), 1)
        print(f"{name:14s} {one:10.1f} {four:10.1f} {adapt:9.3f} {4 * (four + adapt):14.1f}")


if __name__ == "__main__":
    main()
