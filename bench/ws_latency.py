"""WebSocket frame-to-reply latency of one live checkout, with and without products registered.

Starts a real ``ebrcs serve`` on 127.0.0.1 over a fresh SQLite database, registers a small
catalogue, then streams JPEG frames (an item carried across a counter) through one socket,
each frame sent when the previous reply arrived. The same run is repeated while an admin
registers products back to back through the HTTP API; both are reported side by side.

    nice .venv/bin/python bench/ws_latency.py                  # ~2 minutes on 2 cores
    nice .venv/bin/python bench/ws_latency.py --frames 60 --width 480
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import matplotlib
import numpy as np
import websockets
from sqlalchemy.orm import Session

from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from _common import PASSWORD, Server, photo

OUT = Path(__file__).resolve().parent / "out"


def scene(width: int, count: int) -> list[bytes]:
    """JPEG frames of a product photo carried across a textured counter, back and forth."""
    height = width * 3 // 4
    counter = np.random.default_rng(1).integers(90, 110, (height, width, 3)).astype(np.uint8)
    item = cv2.resize(
        cv2.imdecode(np.frombuffer(photo(0), np.uint8), cv2.IMREAD_COLOR), (width // 4,) * 2
    )
    size, top = item.shape[0], (height - item.shape[0]) // 2
    frames = []
    for index in range(count):
        frame = counter.copy()
        left = (index * width // 20) % (width + size) - size
        x0, x1 = max(left, 0), min(left + size, width)
        if x1 > x0:
            frame[top : top + size, x0:x1] = item[:, x0 - left : x1 - left]
        frames.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    return frames


def start_server(data_dir: Path) -> Server:
    """``ebrcs serve`` on a fresh SQLite database in ``data_dir`` with an admin and a shopper."""
    url = f"sqlite:///{data_dir / 'ebrcs.db'}"
    migrate.upgrade(url)
    with Session(make_engine(url)) as db:
        users.create(db=db, username="bench_admin", password=PASSWORD, role=Role.ADMIN)
        users.create(db=db, username="bench_shopper", password=PASSWORD, role=Role.USER)
    env = {"EBRCS_DATA_DIR": str(data_dir), "EBRCS_DATABASE_URL": url}
    return Server(env, data_dir / "server.log")


def login(base: str, username: str) -> str:
    """A bearer token."""
    response = httpx.post(
        f"{base}/api/auth/login", data={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    return response.json()["access_token"]


def register(base: str, token: str, seed: int) -> None:
    """Register one product with three photos."""
    files = [("images", (f"{seed}-{k}.jpg", photo(seed * 3 + k), "image/jpeg")) for k in range(3)]
    response = httpx.post(
        f"{base}/api/products",
        data={"name": f"bench product {seed}", "price": "1.00"},
        files=files,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()


async def stream(base: str, token: str, frames: list[bytes]) -> list[float]:
    """Frame-to-reply latencies (ms) of one socket, one frame in flight at a time."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{base}/api/sessions", headers={"Authorization": f"Bearer {token}"}
        )
        session_id = response.json()["session_id"]
    ws_url = base.replace("http", "ws") + f"/api/ws/checkout/{session_id}"
    latencies = []
    async with websockets.connect(ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"token": token}))  # like the web app: never in the URL
        for frame in frames:
            sent = time.perf_counter()
            await ws.send(frame)
            await ws.recv()
            latencies.append((time.perf_counter() - sent) * 1000.0)
    return latencies


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values``."""
    return float(np.percentile(values, share * 100))


def main() -> None:
    """Run both variants on one server and print, plot and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=120, help="frames per variant")
    parser.add_argument("--width", type=int, default=640, help="frame width in pixels")
    parser.add_argument("--catalogue", type=int, default=10, help="products before the run")
    args = parser.parse_args()

    frames = scene(args.width, args.frames)
    with tempfile.TemporaryDirectory(prefix="ebrcs-ws-bench-") as folder:
        server = start_server(Path(folder))
        base = server.url
        try:
            admin, shopper = login(base, "bench_admin"), login(base, "bench_shopper")
            for seed in range(args.catalogue):
                register(base, admin, seed)
            asyncio.run(stream(base, shopper, frames[:10]))  # warm-up: model and caches
            quiet = asyncio.run(stream(base, shopper, frames))

            stop, registered = threading.Event(), [0]

            def keep_registering() -> None:
                seed = 1000
                while not stop.is_set():
                    register(base, admin, seed)
                    seed += 1
                    registered[0] += 1

            writer = threading.Thread(target=keep_registering)
            writer.start()
            try:
                busy = asyncio.run(stream(base, shopper, frames))
            finally:
                stop.set()
                writer.join()
        finally:
            server.stop()

    rows = [("alone", quiet), (f"registering ({registered[0]} products)", busy)]
    print(f"WebSocket frame-to-reply latency, {args.frames} frames of {args.width} px per variant")
    print(f"{'variant':<32} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'fps':>6}")
    for name, values in rows:
        print(
            f"{name:<32} {percentile(values, 0.5):8.1f} {percentile(values, 0.95):8.1f} "
            f"{statistics.fmean(values):8.1f} {1000.0 / statistics.fmean(values):6.1f}"
        )
    print(
        f"ratio registering/alone: p50 {percentile(busy, 0.5) / percentile(quiet, 0.5):.2f}x, "
        f"p95 {percentile(busy, 0.95) / percentile(quiet, 0.95):.2f}x"
    )

    OUT.mkdir(exist_ok=True)
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.boxplot([quiet, busy], whis=(5, 95), showfliers=False)
    axis.set_xticks([1, 2], [name for name, _ in rows])
    axis.set_ylabel("frame-to-reply latency (ms)")
    axis.set_title(f"Live checkout WebSocket, {args.width} px frames")
    figure.tight_layout()
    figure.savefig(OUT / "ws_latency.png", dpi=120)
    print(f"plot: {OUT / 'ws_latency.png'}")


if __name__ == "__main__":
    main()
