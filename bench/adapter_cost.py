"""Recognition cost on one core: today's embedder against the pair, per crop and per track.

    python bench/adapter_cost.py [--variants]

For ``mobilenet_v2`` and ``mnv2_effl2`` on one torch thread: CPU milliseconds per crop at
batch 1, 2 and 4, and what the live checkout spends on one track (``PipelineConfig``: its
first decision embeds ``votes`` views in one call, each retry one more view), with the cost of
adapting the vectors by an adapter of the size a catalogue of 81 products gets (80
dimensions). CPU time, not wall time, so a busy machine inflates it less. ``--variants`` times
the bare EfficientNet-Lite2 forward pass (the pair's costly half) each way tried to make it
cheaper: eager, frozen (shipped), frozen + ``optimize_for_inference``, NCHW input, and eager at
smaller inputs.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from ebrcs.adaptation.adapter import Adapter
from ebrcs.checkout.pipeline.pipeline import PipelineConfig
from ebrcs.config import Settings
from ebrcs.embedding.efficientnet import CROP_SIZE, EfficientNetLite2Embedder, PooledFeatures
from ebrcs.embedding.frozen import freeze_for_inference
from ebrcs.embedding.registry import load_embedder

CROPS = 24


def cpu_ms_per_item(run: Callable, items: list[np.ndarray], batch: int) -> float:
    """CPU ms per item of ``run`` called on ``batch`` items at a time (after two warm-ups)."""

    def call(chunk: list[np.ndarray]) -> None:
        run(np.stack(chunk) if chunk[0].ndim == 1 else chunk)

    call(items[:batch])
    call(items[:batch])
    began = time.process_time()
    for first in range(0, len(items) - batch + 1, batch):
        call(items[first : first + batch])
    return (time.process_time() - began) / (len(items) // batch * batch) * 1000


def cpu_ms_per_call(run: Callable[[], object], calls: int = 24) -> float:
    """CPU ms per call of ``run`` (after two warm-ups)."""
    run()
    run()
    began = time.process_time()
    for _ in range(calls):
        run()
    return (time.process_time() - began) / calls * 1000


def lite2_variants() -> None:
    """CPU ms per crop of the bare EfficientNet-Lite2 forward pass, batch 1 and 2, each way."""
    pooled = PooledFeatures(EfficientNetLite2Embedder(torch.device("cpu")).model).eval()

    def example(size: int, batch: int = 1) -> torch.Tensor:
        return torch.rand(batch, 3, size, size).contiguous(memory_format=torch.channels_last)

    frozen = freeze_for_inference(pooled, example(CROP_SIZE))
    with torch.no_grad():
        optimised = torch.jit.optimize_for_inference(
            freeze_for_inference(pooled, example(CROP_SIZE))
        )
    ways: dict[str, tuple[Callable, int, bool]] = {
        "eager": (pooled, CROP_SIZE, True),
        "frozen (shipped)": (frozen, CROP_SIZE, True),
        "frozen + optimize_for_inference": (optimised, CROP_SIZE, True),
        "eager, NCHW input": (pooled, CROP_SIZE, False),
        "eager, 240 px": (pooled, 240, True),
        "eager, 224 px": (pooled, 224, True),
    }
    print(f"{'EfficientNet-Lite2 forward':34s} {'batch 1':>8s} {'batch 2':>8s}")
    for name, (model, size, channels_last) in ways.items():
        per_crop = []
        for batch in (1, 2):
            images = example(size, batch)
            if not channels_last:
                images = images.contiguous()
            with torch.inference_mode():
                per_crop.append(cpu_ms_per_call(lambda m=model, x=images: m(x)) / batch)
        print(f"{name:34s} {per_crop[0]:8.1f} {per_crop[1]:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", action="store_true", help="time the Lite2 variants too")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = PipelineConfig()
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (200, 160, 3), dtype=np.uint8) for _ in range(CROPS)]
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'embedder':14s} {'batch 1':>8s} {'batch 2':>8s} {'batch 4':>8s} {'adapt':>7s}"
        f" {'decision':>9s} {'retry':>6s} {'track':>6s}   (CPU ms; decision = {config.votes}"
        f" views, track = decision + {config.retries} retry)"
    )
    for name in ("mobilenet_v2", "mnv2_effl2"):
        embedder = load_embedder(Settings(embedder=name, device="cpu", embed_threads=1))
        adapter = Adapter(name, rng.normal(size=embedder.dim), rng.normal(size=(embedder.dim, 80)))
        per_crop = {b: cpu_ms_per_item(embedder.embed, crops, b) for b in (1, 2, 4)}
        adapt = cpu_ms_per_item(adapter.transform, list(embedder.embed(crops)), 1)
        decision = config.votes * (per_crop[config.votes] + adapt)
        retry = per_crop[1] + adapt
        track = decision + config.retries * retry
        print(
            f"{name:14s} {per_crop[1]:8.1f} {per_crop[2]:8.1f} {per_crop[4]:8.1f} {adapt:7.3f}"
            f" {decision:9.1f} {retry:6.1f} {track:6.1f}"
        )
    if args.variants:
        lite2_variants()


if __name__ == "__main__":
    main()
