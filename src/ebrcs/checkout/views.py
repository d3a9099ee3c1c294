"""HTTP routes of checkout sessions, their ROI, video uploads, unsure items and the bill: thin calls
into the services."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from fastapi.sse import format_sse_event
from starlette.datastructures import UploadFile

from ebrcs.auth.deps import CurrentUser
from ebrcs.checkout import cart, service, unsure, video
from ebrcs.checkout.deps import (
    ActiveOwnedSession,
    FreshOwnedSession,
    OwnedSession,
    OwnedUnsureItem,
    OwnedVideoTask,
    VideoTasksDep,
)
from ebrcs.checkout.live import open_live_checkout
from ebrcs.checkout.models import CheckoutSession
from ebrcs.checkout.schemas import (
    BillingUpdateIn,
    CartOut,
    QuantityIn,
    ResolveIn,
    RoiIn,
    RoiOut,
    SessionCreated,
    SessionOut,
    SessionSummary,
    UnsureItemOut,
    VideoTaskCreated,
)
from ebrcs.checkout.websocket import LiveCheckoutsDep, store_roi
from ebrcs.deps import DbSession, LivePartsDep, SettingsDep
from ebrcs.errors import ErrorCode, InvalidInput, NotFound, PayloadTooLarge

router = APIRouter(prefix="/api/sessions", tags=["checkout"])
BILLING_PREFIX = "/api/sessions/{session_id}/billing"
billing_router = APIRouter(prefix=BILLING_PREFIX, tags=["billing"])

CLOSE_SESSION_ENDED = 4409
# Room for the multipart envelope around the video itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
SSE_POLL_SECONDS = 0.25
SSE_HEARTBEAT_SECONDS = 15.0


def _session_out(db: DbSession, session: CheckoutSession) -> SessionOut:
    return SessionOut(
        session_id=session.id,
        status=session.status,
        created_at=session.created_at,
        last_active=session.last_active,
        roi=service.roi_of(session),
        cart=CartOut.of(cart.load(db=db, session_id=session.id)),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_session(db: DbSession, user: CurrentUser, settings: SettingsDep) -> SessionCreated:
    """Open a checkout session for the caller (409 past EBRCS_MAX_OPEN_SESSIONS_PER_USER)."""
    session = service.create(
        db=db,
        user=user,
        max_open=settings.max_open_sessions_per_user,
        ttl_minutes=settings.session_ttl_minutes,
    )
    return SessionCreated(session_id=session.id)


@router.get("")
def list_sessions(
    db: DbSession, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[SessionSummary]:
    """The caller's sessions, most recently used first."""
    return [
        SessionSummary(
            session_id=session.id,
            status=session.status,
            created_at=session.created_at,
            last_active=session.last_active,
        )
        for session in service.list_owned(db=db, user=user, limit=limit)
    ]


@router.get("/{session_id}")
def get_session(session: FreshOwnedSession, db: DbSession) -> SessionOut:
    """The caller's session: status, ROI and cart."""
    return _session_out(db, session)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def end_session(
    session: OwnedSession, db: DbSession, live: LiveCheckoutsDep, tasks: VideoTasksDep
) -> Response:
    """End the session: it becomes ``expired`` with its cart kept; its socket is closed."""
    service.end(db=db, session=session)
    connection = live.get(session.id)
    if connection is not None:
        connection.request_close(CLOSE_SESSION_ENDED, f"checkout session is {session.status}")
    tasks.cancel_session(session.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{session_id}/roi")
def set_roi(session: OwnedSession, body: RoiIn, db: DbSession, live: LiveCheckoutsDep) -> RoiOut:
    """Set the session's counting zone; a running socket uses it from its next frame."""
    return RoiOut(roi=store_roi(db=db, live=live, session=session, points=body.points))


@router.delete("/{session_id}/roi")
def clear_roi(session: OwnedSession, db: DbSession, live: LiveCheckoutsDep) -> RoiOut:
    """Count over the whole frame again."""
    return RoiOut(roi=store_roi(db=db, live=live, session=session, points=None))


@router.post(
    "/{session_id}/video-upload",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["video"],
                        "properties": {"video": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_video(
    session: ActiveOwnedSession,
    request: Request,
    db: DbSession,
    tasks: VideoTasksDep,
    parts: LivePartsDep,
) -> VideoTaskCreated:
    """Count a video (mp4, mov, avi, mkv; field ``video``) into the cart in the background."""
    settings = parts.settings
    session_id, user_id, roi = session.id, session.user_id, service.roi_of(session)
    # The upload may take long; no database transaction (on SQLite, a write lock) stays open.
    await asyncio.to_thread(db.close)
    tasks.check_capacity()
    # Refuse what is announced too big before reading it; the copy below enforces the limit
    # for bodies that do not announce their size.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_video_bytes + MULTIPART_OVERHEAD_BYTES:
        raise PayloadTooLarge(
            f"video is larger than {settings.max_video_bytes} bytes",
            code=ErrorCode.VIDEO_TOO_LARGE,
        )
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("video")
        if not isinstance(upload, UploadFile):
            raise InvalidInput(
                "the multipart field 'video' must hold a video file", code=ErrorCode.VIDEO_MISSING
            )
        suffix = video.check_extension(upload.filename)
        path = settings.data_dir / "uploads" / f"{uuid.uuid4().hex}{suffix}"
        await asyncio.to_thread(
            video.save_upload, upload.file, path, max_bytes=settings.max_video_bytes
        )
    try:
        await asyncio.to_thread(video.check_decodable, path)
    except InvalidInput:
        path.unlink(missing_ok=True)
        raise
    task = tasks.start(
        session_id=session_id,
        user_id=user_id,
        path=path,
        open_checkout=lambda: open_live_checkout(parts, session_id, roi),
    )
    return VideoTaskCreated(task_id=task.id)


@router.get("/{session_id}/video-status", response_class=StreamingResponse)
async def video_status(task: OwnedVideoTask, request: Request, db: DbSession) -> StreamingResponse:
    """Server-Sent Events of a video task: ``progress``, ``events`` (with the cart), ``done``."""
    # The stream lasts as long as the task: the login check's transaction must not.
    await asyncio.to_thread(db.close)
    return StreamingResponse(
        _task_events(task, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _task_events(task: video.VideoTask, request: Request) -> AsyncIterator[bytes]:
    """The task's messages as SSE (FastAPI's encoder), until it ends or the client leaves."""
    sent, last_progress, quiet = 0, None, 0.0
    while not await request.is_disconnected():
        progress, messages, finished = task.read(sent)
        if progress and progress != last_progress:
            yield format_sse_event(event="progress", data_str=json.dumps(progress))
            last_progress, quiet = progress, 0.0
        for kind, data in messages:
            yield format_sse_event(event=kind, data_str=json.dumps(data))
            quiet = 0.0
        sent += len(messages)
        if finished and not messages:
            return
        if quiet >= SSE_HEARTBEAT_SECONDS:
            yield format_sse_event(comment="keep-alive")
            quiet = 0.0
        await asyncio.sleep(SSE_POLL_SECONDS)
        quiet += SSE_POLL_SECONDS


@router.post("/{session_id}/video-tasks/{task_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_video(task: OwnedVideoTask) -> dict[str, str]:
    """Stop a video task after its current frame; what it counted so far stays in the cart."""
    task.cancelled.set()
    return {"task_id": str(task.id), "state": task.state.value}


@router.get("/{session_id}/unsure")
def list_unsure(session: OwnedSession, db: DbSession) -> list[UnsureItemOut]:
    """The session's items counted but not named yet, oldest first, with their candidates."""
    lines = unsure.open_lines(db=db, session_id=session.id)
    return [UnsureItemOut.of(session.id, line) for line in lines]


@router.post("/{session_id}/unsure/{item_id}/resolve")
def resolve_unsure(
    session: FreshOwnedSession,
    item: OwnedUnsureItem,
    body: ResolveIn,
    db: DbSession,
    settings: SettingsDep,
) -> CartOut:
    """Say what an unsure item is (a candidate, or any product found by search): it is billed."""
    updated = cart.resolve_unsure(
        db=db,
        session_id=session.id,
        item_id=item.id,
        product_id=body.product_id,
        max_quantity=settings.max_cart_quantity,
    )
    return CartOut.of(updated)


@router.post("/{session_id}/unsure/{item_id}/dismiss")
def dismiss_unsure(session: FreshOwnedSession, item: OwnedUnsureItem, db: DbSession) -> CartOut:
    """Take an unsure item off the bill (it was not an item to pay for)."""
    return CartOut.of(cart.dismiss_unsure(db=db, session_id=session.id, item_id=item.id))


@router.get(
    "/{session_id}/unsure/{item_id}/crop",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def unsure_crop(
    _session: OwnedSession, item: OwnedUnsureItem, settings: SettingsDep
) -> FileResponse:
    """The picture an unsure item was seen in (JPEG)."""
    # The item resolves its session itself; naming the session first keeps the document's
    # parameters in the path's order (session_id, item_id), which generated clients follow.
    path = unsure.crop_on_disk(settings, item)
    if path is None:
        raise NotFound("this unsure item has no picture")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private"})


@billing_router.get("")
def get_billing(session: OwnedSession, db: DbSession) -> CartOut:
    """The caller's bill: lines and totals priced on the server."""
    return CartOut.of(cart.load(db=db, session_id=session.id))


@billing_router.put("")
def set_billing(
    session: FreshOwnedSession, body: BillingUpdateIn, db: DbSession, settings: SettingsDep
) -> CartOut:
    """Set the bill to exactly the listed quantities; products left out or at 0 are removed."""
    updated = cart.set_quantities(
        db=db,
        session_id=session.id,
        quantities=[(line.product_id, line.quantity) for line in body.items],
        max_quantity=settings.max_cart_quantity,
    )
    return CartOut.of(updated)


@billing_router.post("/items")
def add_to_billing(
    session: FreshOwnedSession, body: QuantityIn, db: DbSession, settings: SettingsDep
) -> CartOut:
    """Add a product the recognition missed."""
    updated = cart.add_items(
        db=db,
        session_id=session.id,
        product_id=body.product_id,
        quantity=body.quantity,
        max_quantity=settings.max_cart_quantity,
    )
    return CartOut.of(updated)
