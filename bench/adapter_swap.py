"""Adapter refits at shop scale: fit cost on a synthetic catalogue, recognition during a swap.

    python bench/adapter_swap.py [--products 5000] [--photos 3] [--seconds 4]
                                 [--max-views N] [--json]

``EBRCS_DATABASE_URL`` names the (empty) database, default a temporary SQLite file;
``EBRCS_EMBEDDER`` the embedder (default: the shipped one). Parts, in one run:

1. a catalogue of N synthetic products (each a pattern of coloured blocks; its photos are
   shifted, rescaled and relit copies), photos stored as the server stores them, raw
   vectors embedded in batches and committed in bulk;
2. the fit exactly as the server's background job and ``ebrcs catalog adapt`` run it
   (``adapting.fit_and_store``): seconds, and the peak resident memory it added;
3. recognition latency (``Recogniser.match`` of one query, the part of a recognition a swap
   can touch) in two threads, while a third registers a product every 50 ms: steady on raw
   vectors, during the rebuild and swap to the adapter, steady on the adapter, and during
   the swap back; with the registrations' commit-to-findable latency in each phase, each
   phase's p99 as a ratio of the steady raw one, and ``bench/out/adapter_swap.png``
   (every recognition's latency over time, the swaps shaded).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.adaptation.fit import AdapterConfig
from ebrcs.catalog import adapters, adapting, flows, service
from ebrcs.catalog.index import RAW_SPACE, ProductIndex
from ebrcs.catalog.loading import open_product_index
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.catalog.sync import CatalogFollower
from ebrcs.config import Settings
from ebrcs.db import migrate
from ebrcs.db.engine import session_factory
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.registry import load_embedder
from ebrcs.recognition.recogniser import Recogniser

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT = Path(__file__).resolve().parent / "out"

EMBED_BATCH = 64
COMMIT_BATCH = 500
PHOTO_SIZE = 160
READERS = 2
REGISTER_INTERVAL = 0.05
RSS_SAMPLE_SECONDS = 0.05


def product_photos(product: int, shots: int) -> list[np.ndarray]:
    """``shots`` photos of one synthetic product: its block pattern, moved and relit."""
    rng = np.random.default_rng(product)
    blocks = rng.integers(0, 256, size=(5, 5, 3), dtype=np.uint8)
    base = np.asarray(
        Image.fromarray(blocks).resize((2 * PHOTO_SIZE,) * 2, Image.Resampling.NEAREST)
    )
    photos = []
    for _ in range(shots):
        size = int(rng.integers(PHOTO_SIZE, 2 * PHOTO_SIZE))
        top, left = (int(rng.integers(0, 2 * PHOTO_SIZE - size + 1)) for _ in range(2))
        crop = Image.fromarray(base[top : top + size, left : left + size])
        light = rng.uniform(0.7, 1.3)
        pixels = np.asarray(crop.resize((PHOTO_SIZE, PHOTO_SIZE)), dtype=np.float32) * light
        photos.append(np.clip(pixels, 0, 255).astype(np.uint8))
    return photos


def fill_catalogue(
    sessions: sessionmaker[Session],
    settings: Settings,
    embedder: Embedder,
    products: int,
    shots: int,
) -> float:
    """Register ``products`` synthetic products in bulk; returns the seconds it took."""
    began = time.perf_counter()
    for first in range(0, products, COMMIT_BATCH):
        batch = range(first, min(first + COMMIT_BATCH, products))
        photos = {number: product_photos(number, shots) for number in batch}
        flat = [pixels for number in batch for pixels in photos[number]]
        vectors = np.concatenate(
            [embedder.embed(flat[i : i + EMBED_BATCH]) for i in range(0, len(flat), EMBED_BATCH)]
        )
        with sessions() as db:
            ids = iter(service.allocate_embedding_ids(db=db, count=len(flat)))
            rows = iter(vectors)
            for number in batch:
                product = Product(id=uuid.uuid4(), name=f"synthetic {number}", is_active=True)
                db.add(product)
                folder = settings.images_dir / str(product.id)
                folder.mkdir(parents=True, exist_ok=True)
                for shot, pixels in enumerate(photos[number]):
                    relative = f"{product.id}/{shot}.jpg"
                    Image.fromarray(pixels).save(settings.images_dir / relative, quality=90)
                    db.add(
                        ProductImage(
                            product_id=product.id,
                            image_path=relative,
                            embedding_id=next(ids),
                            embedding=service.encode_vector(next(rows)),
                            embedding_dim=embedder.dim,
                            embedder_id=embedder.id,
                        )
                    )
            db.commit()
        print(f"  registered {batch.stop} of {products} products", flush=True)
    return time.perf_counter() - began


def rss_bytes() -> int:
    """This process's resident memory now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_during(action: Callable[[], object]) -> tuple[object, int]:
    """Run ``action``; returns its result and the most resident memory it added."""
    baseline, peak, done = rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(RSS_SAMPLE_SECONDS):
            peak[0] = max(peak[0], rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = action()
    finally:
        done.set()
        sampler.join()
    return result, max(peak[0], rss_bytes()) - baseline


class Load:
    """Recognitions in ``READERS`` threads and a registration every 50 ms, timed by phase."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: ProductIndex,
        recogniser: Recogniser,
        queries: np.ndarray,
    ) -> None:
        self.sessions, self.index, self.recogniser, self.queries = (
            sessions,
            index,
            recogniser,
            queries,
        )
        self.phase = "warm-up"
        self.latencies: dict[str, list[float]] = {}
        self.timeline: list[tuple[float, float]] = []  # (seconds since start, latency ms)
        self.swap_windows: list[tuple[float, float]] = []
        self.started = time.perf_counter()
        self.registrations: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._recognise, args=(i,)) for i in range(READERS)
        ]
        self._threads.append(threading.Thread(target=self._register))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _recognise(self, offset: int) -> None:
        position = offset
        while not self._stop.is_set():
            query = self.queries[position % len(self.queries)][None, :]
            position += READERS
            phase, began = self.phase, time.perf_counter()
            try:
                self.recogniser.match(query)
            except Exception as error:  # a swap must never make a recognition fail
                self.errors.append(repr(error))
            took = 1000 * (time.perf_counter() - began)
            self.latencies.setdefault(phase, []).append(took)
            self.timeline.append((began - self.started, took))

    def swap(self, phase: str, follower: CatalogFollower) -> float:
        """Switch the index to the adapter in force as the follower does; its seconds."""
        self.phase, began = phase, time.perf_counter()
        follower.follow_adapter()
        ended = time.perf_counter()
        self.swap_windows.append((began - self.started, ended - self.started))
        return ended - began

    def _register(self) -> None:
        rng = np.random.default_rng(7)
        while not self._stop.wait(REGISTER_INTERVAL):
            vectors = rng.normal(size=(3, self.index.dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            phase, began = self.phase, time.perf_counter()
            with self.sessions() as db:
                product = Product(id=uuid.uuid4(), name="registered during the bench")
                db.add(product)
                flows.commit_vectors(
                    db=db,
                    index=self.index,
                    product=product,
                    image_ids=[uuid.uuid4() for _ in range(3)],
                    paths=[""] * 3,
                    vectors=vectors,
                    max_photos=None,
                )
            self.registrations.setdefault(phase, []).append(1000 * (time.perf_counter() - began))


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values``."""
    return float(np.quantile(values, share)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--photos", type=int, default=3, help="photos per product")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each steady phase")
    parser.add_argument(
        "--max-views",
        type=int,
        default=AdapterConfig.max_views,
        help="views one fit embeds (the server's bound by default; lower for a quick swap run)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the catalogue in this folder; a later run with it skips part 1 (SQLite only)",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    folder = (
        contextlib.nullcontext(str(args.keep))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="ebrcs-adapter-bench-")
    )
    with folder as work:
        url = os.environ.get("EBRCS_DATABASE_URL") or f"sqlite:///{Path(work) / 'bench.db'}"
        settings = Settings(data_dir=Path(work) / "var", database_url=url, jwt_secret="bench")
        migrate.upgrade(settings.resolved_database_url)
        sessions = session_factory(settings)
        embedder = load_embedder(settings)
        with sessions() as db:
            existing = db.scalar(text("SELECT count(*) FROM products")) or 0
            adapters.retire_all(db=db, embedder_id=embedder.id)  # a kept run's last fit
            db.commit()
        if existing and not (args.keep and existing == args.products):
            raise SystemExit("the bench needs an empty catalogue database")
        figures: dict[str, object] = {
            "products": args.products,
            "photos": args.photos,
            "max_views": args.max_views,
        }
        print(f"1. registering {args.products} products x {args.photos} photos ({embedder.id})")
        if existing:
            print(f"   kept from an earlier run in {args.keep}")
        else:
            figures["register_seconds"] = fill_catalogue(
                sessions, settings, embedder, args.products, args.photos
            )

        print("2. fitting the adapter as the background job does")
        began = time.perf_counter()
        row, added = peak_rss_during(
            lambda: adapting.fit_and_store(
                sessions=sessions,
                settings=settings,
                embedder=embedder,
                config=AdapterConfig(max_views=args.max_views),
            )
        )
        figures |= {"fit_seconds": time.perf_counter() - began, "fit_peak_rss_mb": added / 2**20}
        print(f"   adapter {row.version}: {figures['fit_seconds']:.0f} s, +{added / 2**20:.0f} MiB")

        print("3. recognition during swaps")
        with sessions() as db:
            index = open_product_index(
                db=db,
                embedder=embedder,
                kind=settings.index_kind,
                snapshot_path=settings.index_dir / "none.faiss",
                space=RAW_SPACE,
            )
            stored = next(
                service.iter_active_vectors(db=db, above=0, up_to=10**12, batch_size=2000)
            )
        rng = np.random.default_rng(3)
        queries = stored.vectors + rng.normal(scale=0.02, size=stored.vectors.shape).astype(
            np.float32
        )
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        recogniser = Recogniser.from_settings(embedder, index, settings)
        follower = CatalogFollower(
            sessions, index, listen_dsn=None, poll_seconds=1, reconcile_seconds=60
        )
        swaps: dict[str, float] = {}
        with Load(sessions, index, recogniser, queries) as load:
            time.sleep(1.0)
            load.phase = "steady, raw vectors"
            time.sleep(args.seconds)
            swaps["swapping to the adapter"] = load.swap("swapping to the adapter", follower)
            load.phase = "steady, adapter"
            time.sleep(args.seconds)
            with sessions() as db:
                adapters.retire_all(db=db, embedder_id=embedder.id)
                db.commit()
            swaps["swapping back to raw"] = load.swap("swapping back to raw", follower)
            load.phase = "done"
        if load.errors:
            raise SystemExit(f"recognitions failed during the swaps: {load.errors[:3]}")
        print()
        columns = ("n", "p50 ms", "p99 ms", "x steady", "max ms", "reg p99", "swap s")
        print(f"{'phase':32} " + " ".join(f"{name:>8}" for name in columns))
        phases = {}
        steady = percentile(load.latencies["steady, raw vectors"], 0.99)
        for phase, values in load.latencies.items():
            if phase in ("warm-up", "done"):
                continue
            registered = load.registrations.get(phase, [])
            phases[phase] = {
                "recognitions": len(values),
                "p50_ms": statistics.median(values),
                "p99_ms": percentile(values, 0.99),
                "max_ms": max(values),
                "registrations": len(registered),
                "registration_p99_ms": percentile(registered, 0.99),
                "swap_seconds": swaps.get(phase),
            }
            swap = f"{swaps[phase]:.2f}" if phase in swaps else ""
            print(
                f"{phase:32} {len(values):8d} {phases[phase]['p50_ms']:8.2f} "
                f"{phases[phase]['p99_ms']:8.2f} {phases[phase]['p99_ms'] / steady:8.2f} "
                f"{phases[phase]['max_ms']:8.1f} "
                f"{phases[phase]['registration_p99_ms']:8.1f} {swap:>8}"
            )
        figures["phases"] = phases
        print(
            f"\nfit: {figures['fit_seconds']:.0f} s, "
            f"+{figures['fit_peak_rss_mb']:.0f} MiB resident "
            f"({args.products} products, {args.photos} photos each, {embedder.id})"
        )
        plot(load, OUT / "adapter_swap.png", f"{args.products} products, {embedder.id}")
        if args.json:
            print(json.dumps(figures, indent=2))


def plot(load: Load, path: Path, title: str) -> None:
    """Every recognition's latency over time, the swaps shaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(9, 3.5))
    seconds, latencies = zip(*load.timeline, strict=True)
    axes.scatter(seconds, latencies, s=2, alpha=0.4)
    for start, end in load.swap_windows:
        axes.axvspan(start, end, color="orange", alpha=0.3)
    axes.set(
        xlabel="seconds",
        ylabel="Recogniser.match ms (log)",
        yscale="log",
        title=f"Recognition during adapter swaps (shaded): {title}",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
