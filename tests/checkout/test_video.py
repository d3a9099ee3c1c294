"""Video uploads: counted in the background, progress as Server-Sent Events, cancel, bad input."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from checkout_scenes import GatedPipeline, empty_counter, pass_through, register, sse_messages
from checkout_scenes import write_video as write_frames
from fastapi.testclient import TestClient

from ebrcs.checkout import views
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CountEvent, FrameResult


def _open(client: TestClient, account: Any) -> str:
    return client.post("/api/sessions", headers=account.headers).json()["session_id"]


def _video(tmp_path: Path, frames: list[np.ndarray], name: str = "checkout.avi") -> bytes:
    path = tmp_path / name
    write_frames(str(path), frames)
    return path.read_bytes()


def _upload(
    client: TestClient, account: Any, session_id: str, data: bytes, filename: str = "v.avi"
) -> Any:
    return client.post(
        f"/api/sessions/{session_id}/video-upload",
        files={"video": (filename, data, "video/x-msvideo")},
        headers=account.headers,
    )


def _status(client: TestClient, account: Any, session_id: str, task_id: str) -> list[tuple]:
    """Every message of the task's event stream, read until it ends."""
    url = f"/api/sessions/{session_id}/video-status?task_id={task_id}"
    with client.stream("GET", url, headers=account.headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [(kind, json.loads(data)) for kind, data in sse_messages(response.iter_lines())]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Hold every video task at its first frame until the test sets the first event."""
    release, entered = threading.Event(), threading.Event()
    open_checkout = views.open_live_checkout

    def gated(*args: Any) -> Any:
        checkout = open_checkout(*args)
        checkout.pipeline = GatedPipeline(checkout.pipeline, release, entered)
        return checkout

    monkeypatch.setattr(views, "open_live_checkout", gated)
    return release, entered


@pytest.mark.slow
def test_video_is_counted_into_the_cart_with_progress_events_and_done(
    client, admin, shopper, tmp_path
):
    tomato = register(client, admin.headers, "tomato", "1.10")
    session_id = _open(client, shopper)
    frames = empty_counter(5) + pass_through("tomato")

    upload = _upload(client, shopper, session_id, _video(tmp_path, frames))
    assert upload.status_code == 202
    messages = _status(client, shopper, session_id, upload.json()["task_id"])

    kinds = [kind for kind, _ in messages]
    assert "progress" in kinds
    assert messages[-1] == ("done", {"state": "done", "frames": len(frames)})
    events = [event for kind, data in messages if kind == "events" for event in data["events"]]
    assert [(event["type"], event["product_id"]) for event in events] == [("ADD", tomato)]
    cart = client.get(f"/api/sessions/{session_id}", headers=shopper.headers).json()["cart"]
    assert (cart["total_items"], cart["total_amount"]) == (1, "1.10")


class _ReportsThirdFrame:
    """A pipeline that reports one unknown item on its third frame, whatever it sees."""

    roi = None

    def __init__(self) -> None:
        self.frames = 0

    def process(self, frame_bgr: np.ndarray, timestamp: float) -> FrameResult:
        self.frames += 1
        if self.frames != 3:
            return FrameResult(detections=[], events=[])
        return FrameResult(
            detections=[], events=[CountEvent(EventKind.UNRECOGNISED, None, None, 1, timestamp)]
        )

    def set_roi(self, roi: Any) -> None:
        """The zone plays no part here."""


def test_video_events_carry_the_time_of_their_frame(client, shopper, tmp_path, monkeypatch):
    open_checkout = views.open_live_checkout

    def reporting(*args: Any) -> Any:
        checkout = open_checkout(*args)
        checkout.pipeline = _ReportsThirdFrame()
        return checkout

    monkeypatch.setattr(views, "open_live_checkout", reporting)
    session_id = _open(client, shopper)
    upload = _upload(client, shopper, session_id, _video(tmp_path, empty_counter(5)))

    messages = _status(client, shopper, session_id, upload.json()["task_id"])

    (reported,) = [data for kind, data in messages if kind == "events"]
    assert (reported["frame"], reported["t"]) == (3, 0.2)
    assert reported["events"][0]["type"] == "UNRECOGNISED"


def test_video_that_cannot_be_decoded_is_refused_and_the_server_stays_up(client, shopper):
    session_id = _open(client, shopper)

    response = _upload(client, shopper, session_id, b"\x00\x00\x00\x18ftypmp42" + b"junk" * 500)

    assert response.status_code == 422
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize("filename", ["checkout.txt", "checkout", "checkout.avi.exe"])
def test_video_with_an_unsupported_extension_is_refused(client, shopper, tmp_path, filename):
    session_id = _open(client, shopper)

    response = _upload(client, shopper, session_id, _video(tmp_path, empty_counter(3)), filename)

    assert response.status_code == 422


def test_upload_without_a_video_field_is_refused(client, shopper):
    session_id = _open(client, shopper)

    response = client.post(
        f"/api/sessions/{session_id}/video-upload",
        data={"other": "x"},
        headers=shopper.headers,
    )

    assert response.status_code == 422


@pytest.fixture
def small_video_limit(settings):
    """Allow videos of at most 4 KiB."""
    settings.max_video_bytes = 4096
    return settings


def test_oversized_video_is_refused_and_nothing_is_kept(small_video_limit, client, shopper):
    session_id = _open(client, shopper)

    response = _upload(client, shopper, session_id, b"\x00" * (64 * 1024 + 8192))

    assert response.status_code == 413
    assert not list((small_video_limit.data_dir / "uploads").glob("*"))


def test_failure_while_counting_is_reported_and_the_server_stays_up(
    client, shopper, tmp_path, monkeypatch
):
    open_checkout = views.open_live_checkout

    def broken(*args: Any) -> Any:
        checkout = open_checkout(*args)
        checkout.pipeline = None  # any frame now fails inside the task
        return checkout

    monkeypatch.setattr(views, "open_live_checkout", broken)
    session_id = _open(client, shopper)
    upload = _upload(client, shopper, session_id, _video(tmp_path, empty_counter(3)))

    kind, data = _status(client, shopper, session_id, upload.json()["task_id"])[-1]

    assert (kind, data["state"]) == ("done", "failed")
    assert data["error"]
    assert client.get("/api/health").json()["status"] == "ok"


def test_cancelled_task_stops_after_its_current_frame(client, shopper, tmp_path, gate):
    release, entered = gate
    session_id = _open(client, shopper)
    upload = _upload(client, shopper, session_id, _video(tmp_path, empty_counter(30)))
    task_id = upload.json()["task_id"]
    assert entered.wait(timeout=30)

    cancel = client.post(
        f"/api/sessions/{session_id}/video-tasks/{task_id}/cancel", headers=shopper.headers
    )
    release.set()

    assert cancel.status_code == 202
    assert _status(client, shopper, session_id, task_id)[-1] == (
        "done",
        {"state": "cancelled", "frames": 1},
    )


def test_ending_the_session_cancels_its_video(client, shopper, tmp_path, gate):
    release, entered = gate
    session_id = _open(client, shopper)
    task_id = _upload(client, shopper, session_id, _video(tmp_path, empty_counter(30))).json()[
        "task_id"
    ]
    assert entered.wait(timeout=30)

    client.delete(f"/api/sessions/{session_id}", headers=shopper.headers)
    release.set()

    assert _status(client, shopper, session_id, task_id)[-1][1]["state"] == "cancelled"


def test_more_videos_than_workers_are_refused_with_429(client, shopper, tmp_path, gate, settings):
    release, _ = gate
    video = _video(tmp_path, empty_counter(5))
    session_id = _open(client, shopper)
    workers = settings.max_video_tasks
    accepted = [_upload(client, shopper, session_id, video) for _ in range(workers)]
    refused = _upload(client, shopper, session_id, video)
    release.set()

    assert [response.status_code for response in accepted] == [202] * workers
    assert refused.status_code == 429


def test_someone_elses_video_task_is_not_found(client, make_account, tmp_path):
    alice, bob = make_account(), make_account()
    session_id = _open(client, alice)
    task_id = _upload(client, alice, session_id, _video(tmp_path, empty_counter(3))).json()[
        "task_id"
    ]

    status = client.get(
        f"/api/sessions/{session_id}/video-status?task_id={task_id}", headers=bob.headers
    )
    cancel = client.post(
        f"/api/sessions/{session_id}/video-tasks/{task_id}/cancel", headers=bob.headers
    )
    unknown = client.get(
        f"/api/sessions/{session_id}/video-status?task_id={uuid.uuid4()}", headers=alice.headers
    )

    assert (status.status_code, cancel.status_code, unknown.status_code) == (404, 404, 404)
    assert _upload(client, bob, session_id, _video(tmp_path, empty_counter(3))).status_code == 404
