"""Video uploads counted in the background: the same pipeline and cart as the live socket.

Tasks live in the memory of the process that accepted the upload (its status stream must be
asked of that process), at most ``settings.max_video_tasks`` running at once; finished tasks
are forgotten oldest first.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ebrcs.checkout.live import LiveCheckout
from ebrcs.checkout.pipeline.frames import VideoFrames
from ebrcs.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
)

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv"})
# First box types of ISO base media files (MP4, MOV); QuickTime may start with any of these.
ISO_MEDIA_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"})
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # Matroska
SNIFF_BYTES = 16
FINISHED_TASKS_KEPT = 50
COPY_CHUNK_BYTES = 1024 * 1024
# A short video at 960 px takes tens of seconds; asking again sooner only adds load.
RETRY_AFTER_SECONDS = 10


class TaskState(enum.StrEnum):
    """Where a video task is."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class VideoTask:
    """One uploaded video being counted; progress is read by the status stream."""

    id: uuid.UUID
    session_id: uuid.UUID
    user_id: uuid.UUID
    path: Path
    state: TaskState = TaskState.RUNNING
    frames: int = 0
    """Frames counted so far (written by the task's thread only)."""
    progress: dict[str, Any] = field(default_factory=dict)
    cancelled: threading.Event = field(default_factory=threading.Event)
    _log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, kind: str, data: dict[str, Any]) -> None:
        """Append a message for the status stream (``events``, ``error``, ``done``)."""
        with self._lock:
            self._log.append((kind, data))

    def read(self, after: int) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]], bool]:
        """The latest progress, the messages after the first ``after``, and whether it ended."""
        with self._lock:
            return dict(self.progress), self._log[after:], self.state != TaskState.RUNNING

    def finish(self, state: TaskState, data: dict[str, Any]) -> None:
        """End the task with its last message."""
        with self._lock:
            self._log.append(("done", {"state": state.value, **data}))
            self.state = state


def check_extension(filename: str | None) -> str:
    """The upload's lower-case extension if it names a supported container; InvalidInput."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in VIDEO_EXTENSIONS:
        raise InvalidInput(
            f"video must be one of {', '.join(sorted(VIDEO_EXTENSIONS))}",
            code=ErrorCode.VIDEO_FORMAT,
        )
    return suffix


def save_upload(source: BinaryIO, target: Path, *, max_bytes: int) -> int:
    """Copy an upload to disk in chunks, never more than ``max_bytes``; bytes written."""
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := source.read(COPY_CHUNK_BYTES):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise PayloadTooLarge(
                    f"video is larger than {max_bytes} bytes", code=ErrorCode.VIDEO_TOO_LARGE
                )
            out.write(chunk)
    if written == 0:
        target.unlink(missing_ok=True)
        raise InvalidInput("empty video", code=ErrorCode.VIDEO_EMPTY)
    return written


def sniff_container(head: bytes) -> str | None:
    """Which listed container the file's first bytes announce (``mp4``, ``avi``, ``mkv``)."""
    if head[4:8] in ISO_MEDIA_BOXES:
        return "mp4"  # ISO base media: MP4 and QuickTime MOV
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == EBML_MAGIC:
        return "mkv"
    return None


def check_decodable(path: Path) -> None:
    """Nothing if the file is a listed container and its first frame decodes; InvalidInput.

    The container is sniffed first, so FFmpeg never opens anything else it could read (an
    image or a concat list named ``.mp4``).
    """
    with path.open("rb") as video:
        if sniff_container(video.read(SNIFF_BYTES)) is None:
            raise InvalidInput(
                f"the file is not an {', '.join(sorted(VIDEO_EXTENSIONS))} video",
                code=ErrorCode.VIDEO_FORMAT,
            )
    try:
        frames = iter(VideoFrames(path))
    except InvalidInput as error:
        raise InvalidInput(
            "the video cannot be decoded", code=ErrorCode.VIDEO_UNDECODABLE
        ) from error
    try:
        if next(frames, None) is None:
            raise InvalidInput("the video cannot be decoded", code=ErrorCode.VIDEO_UNDECODABLE)
    finally:
        frames.close()


class VideoTasks:
    """The video tasks of this process, run on a small pool of threads."""

    def __init__(self, *, max_running: int) -> None:
        self.max_running = max_running
        self._tasks: OrderedDict[uuid.UUID, VideoTask] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_running, thread_name_prefix="video")

    def check_capacity(self) -> None:
        """TooManyRequests when every worker is busy (checked before an upload is read)."""
        with self._lock:
            self._refuse_if_full()

    def start(
        self,
        *,
        session_id: uuid.UUID,
        user_id: uuid.UUID,
        path: Path,
        open_checkout: Callable[[], LiveCheckout],
    ) -> VideoTask:
        """Start counting a saved video into the session's cart."""
        with self._lock:
            try:
                self._refuse_if_full()
            except TooManyRequests:
                path.unlink(missing_ok=True)
                raise
            task = VideoTask(id=uuid.uuid4(), session_id=session_id, user_id=user_id, path=path)
            self._tasks[task.id] = task
            self._forget_oldest_finished()
        self._pool.submit(run_task, task, open_checkout)
        return task

    def get(self, *, task_id: uuid.UUID, session_id: uuid.UUID, user_id: uuid.UUID) -> VideoTask:
        """The caller's task of this session; NotFound otherwise."""
        task = self._tasks.get(task_id)
        if task is None or task.session_id != session_id or task.user_id != user_id:
            raise NotFound("video task not found", code=ErrorCode.VIDEO_TASK_NOT_FOUND)
        return task

    def cancel_session(self, session_id: uuid.UUID) -> None:
        """Cancel every running task of a session."""
        for task in list(self._tasks.values()):
            if task.session_id == session_id:
                task.cancelled.set()

    def shutdown(self) -> None:
        """Cancel every task and wait for the workers to stop."""
        for task in list(self._tasks.values()):
            task.cancelled.set()
        self._pool.shutdown(wait=True)

    def _refuse_if_full(self) -> None:
        if self._running() >= self.max_running:
            raise TooManyRequests(
                "too many videos are being processed; try again later",
                retry_after_seconds=RETRY_AFTER_SECONDS,
                code=ErrorCode.VIDEO_BUSY,
            )

    def _running(self) -> int:
        return sum(task.state == TaskState.RUNNING for task in self._tasks.values())

    def _forget_oldest_finished(self) -> None:
        finished = [key for key, task in self._tasks.items() if task.state != TaskState.RUNNING]
        for key in finished[: max(0, len(finished) - FINISHED_TASKS_KEPT)]:
            del self._tasks[key]


def run_task(task: VideoTask, open_checkout: Callable[[], LiveCheckout]) -> None:
    """Count every frame of the task's video; the task ends done, cancelled or failed."""
    try:
        _count_frames(task, open_checkout())
    except Conflict as error:
        # Ending the session cancels its tasks; the frame in flight then meets the ended session.
        if task.cancelled.is_set():
            task.finish(TaskState.CANCELLED, {"frames": task.frames})
        else:
            task.finish(TaskState.FAILED, {"error": error.message})
    except Exception as error:
        # The server must survive any video; the cause goes to the log, the client gets a reason.
        log.exception("video task %s failed", task.id)
        task.finish(TaskState.FAILED, {"error": f"video processing failed: {error}"})
    else:
        if task.cancelled.is_set():
            task.finish(TaskState.CANCELLED, {"frames": task.frames})
        elif task.frames == 0:
            task.finish(TaskState.FAILED, {"error": "no frame of the video could be decoded"})
        else:
            task.finish(TaskState.DONE, {"frames": task.frames})
    finally:
        task.path.unlink(missing_ok=True)


def _count_frames(task: VideoTask, checkout: LiveCheckout) -> None:
    """Run the pipeline over the video's frames until the end or a cancel."""
    frames = VideoFrames(task.path)
    total = frames.frame_count
    started = time.perf_counter()
    video = iter(frames)
    try:
        for timestamp, frame in video:
            if task.cancelled.is_set():
                break
            outcome = checkout.process_frame(frame, timestamp, annotate=False)
            task.frames += 1
            if outcome.events and outcome.cart is not None:
                task.post(
                    "events",
                    {
                        "frame": task.frames,
                        "t": round(timestamp, 3),
                        "events": [event.model_dump(mode="json") for event in outcome.events],
                        "cart": outcome.cart.model_dump(mode="json"),
                    },
                )
            elapsed = time.perf_counter() - started
            task.progress = {
                "frames": task.frames,
                "total_frames": total,
                "percent": round(100.0 * task.frames / total, 1) if total else None,
                "fps": round(task.frames / elapsed, 2) if elapsed > 0 else None,
            }
    finally:
        video.close()
