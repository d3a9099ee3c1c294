"""Synthetic camera scenes for the socket and video tests: coloured items crossing a counter."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import cv2
import numpy as np
from fastapi.testclient import TestClient

WIDTH, HEIGHT, ITEM = 480, 360, 110
FPS = 10.0


def item(kind: str) -> np.ndarray:
    """A BGR picture of a product: a flat colour with a pattern, different per kind."""
    image = np.zeros((ITEM, ITEM, 3), np.uint8)
    if kind == "tomato":
        image[:] = (30, 30, 210)
        image[::12] = (250, 250, 250)
    elif kind == "blueberry":
        image[:] = (200, 60, 20)
        for y in range(0, ITEM, 22):
            for x in range(0, ITEM, 22):
                if (x + y) // 22 % 2:
                    image[y : y + 22, x : x + 22] = (0, 220, 255)
    elif kind == "mystery":
        image[:] = (160, 160, 160)
        cv2.putText(image, "?", (30, 85), cv2.FONT_HERSHEY_SIMPLEX, 3, (0, 0, 0), 8)
    else:
        raise ValueError(kind)
    return image


def background() -> np.ndarray:
    """The empty counter: a fixed grey texture."""
    rng = np.random.default_rng(7)
    return rng.integers(95, 110, (HEIGHT, WIDTH, 3)).astype(np.uint8)


def empty_counter(count: int) -> list[np.ndarray]:
    """Frames with nothing on the counter."""
    return [background() for _ in range(count)]


def pass_through(kind: str, *, dwell_frames: int = 12) -> list[np.ndarray]:
    """An item carried in from the left, resting mid-counter, then carried out to the right."""
    picture, counter = item(kind), background()
    top = (HEIGHT - ITEM) // 2
    rest = (WIDTH - ITEM) // 2
    positions = [*range(-ITEM, rest, 40), *([rest] * dwell_frames), *range(rest, WIDTH + 1, 40)]
    frames = []
    for left in positions:
        frame = counter.copy()
        x0, x1 = max(left, 0), min(left + ITEM, WIDTH)
        if x1 > x0:
            frame[top : top + ITEM, x0:x1] = picture[:, x0 - left : x1 - left]
        frames.append(frame)
    return frames


def jpeg(frame: np.ndarray) -> bytes:
    """A frame as the camera would send it."""
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def write_video(path: str, frames: list[np.ndarray]) -> None:
    """Frames as a Motion-JPEG AVI (a codec every OpenCV build writes)."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    for frame in frames:
        writer.write(frame)
    writer.release()


def register(
    client: TestClient, headers: dict[str, str], kind: str, price: str, *, name: str | None = None
) -> str:
    """Register a product photographed from the picture of ``kind`` (named after it); its id."""
    ok, png = cv2.imencode(".png", item(kind))
    assert ok
    response = client.post(
        "/api/products",
        data={"name": name or kind.capitalize(), "price": str(Decimal(price))},
        files=[("images", (f"{kind}.png", png.tobytes(), "image/png"))],
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["product_id"]


@contextmanager
def open_socket(client: TestClient, session_id: str, account: Any | None) -> Iterator[Any]:
    """The checkout socket of a session, its first message the account's token (if given)."""
    with client.websocket_connect(f"/api/ws/checkout/{session_id}") as ws:
        if account is not None:
            ws.send_json({"token": account.headers["Authorization"].removeprefix("Bearer ")})
        yield ws


def stream(ws: Any, frames: list[np.ndarray]) -> list[dict[str, Any]]:
    """Send frames one at a time, waiting for each reply (so none is dropped)."""
    replies = []
    for frame in frames:
        ws.send_bytes(jpeg(frame))
        replies.append(ws.receive_json())
    return replies


def sse_messages(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` pairs of a Server-Sent Events stream."""
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, line.removeprefix("data: ")


class GatedPipeline:
    """The real pipeline, held at its first frame until the test opens the gate."""

    def __init__(self, pipeline: Any, gate: threading.Event, entered: threading.Event) -> None:
        self.pipeline, self.gate, self.entered = pipeline, gate, entered

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> Any:
        self.entered.set()
        assert self.gate.wait(timeout=30)
        return self.pipeline.process(frame_bgr, timestamp)

    def set_roi(self, roi: Any) -> None:
        self.pipeline.set_roi(roi)
