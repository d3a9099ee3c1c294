"""The live checkout socket: JPEG frames in, detections, events and the cart out.

Protocol (``/api/ws/checkout/{session_id}``):

- Authentication by the first message, ``{"token": ...}`` (never the URL, which access logs
  keep); failure closes with 1008 before any frame is read.
- Unknown or someone else's session closes with 4404; a completed or expired session (also one
  that ends while connected) with 4409; a newer socket for the same session replaces this one
  with 4000.
- Binary messages are JPEG frames, numbered from 1 in arrival order (``frame_id``). Only the
  newest unprocessed frame is kept: frames that arrive while one is processed replace each
  other, and the reply's ``dropped_frames`` counts them since the socket opened.
- Text messages are JSON controls: ``{"annotate": true|false}`` (base64 JPEG with boxes in each
  reply) and ``{"roi": [[x, y], ...] | null}`` (stored on the session like ``POST .../roi``).
- A bad frame or control gets ``{"type": "error", "code", "message", "frame_id"}``; the socket
  stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect, WebSocketException
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketState

from ebrcs.auth.models import User
from ebrcs.auth.websocket import authenticate_websocket
from ebrcs.checkout import service
from ebrcs.checkout.deps import active_owned_session, fresh_owned_session, owned_session
from ebrcs.checkout.live import LiveCheckout, LiveCheckoutParts, open_live_checkout
from ebrcs.checkout.models import CheckoutSession
from ebrcs.checkout.schemas import ErrorMessage, FrameReply
from ebrcs.deps import LivePartsDep
from ebrcs.errors import Conflict, DomainError, InvalidInput, NotFound, PayloadTooLarge
from ebrcs.imaging import check_frame

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_NOT_FOUND = 4404
CLOSE_NOT_ACTIVE = 4409
CLOSE_REPLACED = 4000
# {"roi": [[x, y], ...]} nests three deep; anything deeper is not a control.
MAX_CONTROL_DEPTH = 4


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON ``text``, without parsing it (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@dataclass(frozen=True)
class ReceivedFrame:
    """A frame as it came off the socket, not yet decoded."""

    frame_id: int
    data: bytes
    received_at: float


class LatestFrameSlot:
    """A one-frame buffer: a newer frame replaces the unprocessed one, which counts as dropped.

    This is the socket's back-pressure: a slow server skips stale frames instead of queueing
    them, so memory stays bounded and replies describe the newest picture.
    """

    def __init__(self) -> None:
        self._frame: ReceivedFrame | None = None
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, frame: ReceivedFrame) -> None:
        """Offer the newest frame, dropping the one still waiting."""
        if self._frame is not None:
            self.dropped += 1
        self._frame = frame
        self._ready.set()

    async def take(self) -> ReceivedFrame:
        """Wait for a frame and take it out of the slot."""
        await self._ready.wait()
        self._ready.clear()
        frame, self._frame = self._frame, None
        assert frame is not None  # the event is set only together with a frame
        return frame


@dataclass
class LiveConnection:
    """A socket serving a session in this process, and how to ask it to close."""

    checkout: LiveCheckout
    loop: asyncio.AbstractEventLoop
    closing: asyncio.Future[tuple[int, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.closing = self.loop.create_future()

    def request_close(self, code: int, reason: str) -> None:
        """Ask the socket to close; safe from any thread."""
        self.loop.call_soon_threadsafe(self._close, code, reason)

    def _close(self, code: int, reason: str) -> None:
        if not self.closing.done():
            self.closing.set_result((code, reason))


class LiveCheckouts:
    """The sockets this process serves, one per session, so ROI changes and ends reach them.

    Per process: a socket on another worker sees an ROI change when it reconnects.
    """

    def __init__(self) -> None:
        self._by_session: dict[uuid.UUID, LiveConnection] = {}

    def attach(self, session_id: uuid.UUID, connection: LiveConnection) -> LiveConnection | None:
        """Register the session's socket; the one it replaces, if any."""
        replaced = self._by_session.get(session_id)
        self._by_session[session_id] = connection
        return replaced

    def detach(self, session_id: uuid.UUID, connection: LiveConnection) -> None:
        """Forget the socket, unless a newer one already replaced it."""
        if self._by_session.get(session_id) is connection:
            del self._by_session[session_id]

    def get(self, session_id: uuid.UUID) -> LiveConnection | None:
        """The session's socket in this process, if any."""
        return self._by_session.get(session_id)


def live_checkouts(connection: HTTPConnection) -> LiveCheckouts:
    """The live checkout sockets this process serves."""
    return connection.app.state.live_checkouts


LiveCheckoutsDep = Annotated[LiveCheckouts, Depends(live_checkouts)]


def store_roi(
    *,
    db: Session,
    live: LiveCheckouts,
    session: CheckoutSession,
    points: Sequence[Sequence[float]] | None,
) -> service.Roi | None:
    """Validate, store and apply the caller's session's counting zone: the one setter of the
    HTTP route and the socket. A socket serving the session in this process uses it from its
    next frame.
    """
    try:
        roi = None if points is None else service.validate_roi(points)
    except (TypeError, ValueError) as error:
        raise InvalidInput("roi is a list of [x, y] points or null") from error
    service.set_roi(db=db, session=session, roi=roi)
    connection = live.get(session.id)
    if connection is not None:
        connection.checkout.request_roi(roi)
    return roi


async def socket_user(websocket: WebSocket, parts: LivePartsDep) -> User:
    """The socket's user, from its first message; without one the socket is closed with 1008
    (``authenticate_websocket``) and nothing more runs."""
    return await authenticate_websocket(websocket, parts.settings, parts.db_sessions)


SocketUser = Annotated[User, Depends(socket_user)]


def active_socket_session(
    session_id: str, user: SocketUser, parts: LivePartsDep
) -> CheckoutSession:
    """The caller's active session, resolved as ``ActiveOwnedSession`` resolves it for HTTP.

    Another user's session closes the socket with 4404 exactly like a missing one (or an id
    that is no UUID); a session that has ended closes it with 4409.
    """
    try:
        with parts.db_sessions() as db:
            owned = owned_session(uuid.UUID(session_id), db, user)
            return active_owned_session(fresh_owned_session(owned, db, parts.settings))
    except (ValueError, NotFound) as error:
        raise WebSocketException(CLOSE_NOT_FOUND, "checkout session not found") from error
    except Conflict as error:
        raise WebSocketException(CLOSE_NOT_ACTIVE, error.message) from error


ActiveSocketSession = Annotated[CheckoutSession, Depends(active_socket_session)]


@router.websocket("/api/ws/checkout/{session_id}")
async def checkout_socket(
    websocket: WebSocket,
    session: ActiveSocketSession,
    user: SocketUser,
    parts: LivePartsDep,
    live: LiveCheckoutsDep,
) -> None:
    """Stream a session's frames through the pipeline into its cart."""
    roi = service.roi_of(session)
    checkout = await asyncio.to_thread(open_live_checkout, parts, session.id, roi)
    connection = LiveConnection(checkout=checkout, loop=asyncio.get_running_loop())
    replaced = live.attach(session.id, connection)
    if replaced is not None:
        replaced.request_close(CLOSE_REPLACED, "replaced by a newer connection to this session")
    try:
        await _CheckoutStream(websocket, parts, live, connection, user).serve()
    finally:
        live.detach(session.id, connection)


class _CheckoutStream:
    """One connected socket: a receiver fills the frame slot, a processor empties it."""

    def __init__(
        self,
        websocket: WebSocket,
        parts: LiveCheckoutParts,
        live: LiveCheckouts,
        connection: LiveConnection,
        user: User,
    ) -> None:
        self.websocket = websocket
        self.settings = parts.settings
        self.db_sessions = parts.db_sessions
        self.live = live
        self.connection = connection
        self.user = user
        self.slot = LatestFrameSlot()
        self.annotate = False
        self.frames_received = 0
        self._send_lock = asyncio.Lock()

    async def serve(self) -> None:
        """Run until the client leaves or the session can no longer take frames."""
        tasks = [
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._process()),
            self.connection.closing,
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks[:2]:
                # A task's own error is read from ``done`` below: re-raising it here would drop
                # the socket without the 1011 close frame.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task
        finished = done.pop()
        error = None if finished.cancelled() else finished.exception()
        if isinstance(error, WebSocketDisconnect):
            return
        if finished.cancelled() or error is not None:
            log.error("checkout socket failed", exc_info=error)
            code, reason = 1011, "internal error"
        else:
            result = finished.result()
            if result is None:  # the client disconnected
                return
            code, reason = result
        if self.websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code, reason)

    async def _send(self, message: BaseModel) -> None:
        async with self._send_lock:
            await self.websocket.send_text(message.model_dump_json())

    async def _error(self, code: str, message: str, frame_id: int | None = None) -> None:
        await self._send(ErrorMessage(code=code, message=message, frame_id=frame_id))

    async def _receive(self) -> None:
        """Read messages until the client disconnects: frames into the slot, controls applied."""
        settings = self.settings
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                self.frames_received += 1
                frame_id = self.frames_received
                try:
                    check_frame(
                        data,
                        max_bytes=settings.max_frame_bytes,
                        max_pixels=settings.max_frame_pixels,
                    )
                except PayloadTooLarge as error:
                    await self._error("frame_too_large", error.message, frame_id)
                except InvalidInput as error:
                    await self._error("invalid_frame", error.message, frame_id)
                else:
                    self.slot.put(ReceivedFrame(frame_id, data, time.monotonic()))
            else:
                await self._control(message.get("text") or "")

    async def _control(self, text: str) -> None:
        """Apply one JSON control message, bounded in size and nesting before it is parsed."""
        if len(text) > self.settings.max_control_bytes:
            limit = self.settings.max_control_bytes
            await self._error("message_too_large", f"control messages are at most {limit} bytes")
            return
        if json_depth(text) > MAX_CONTROL_DEPTH:
            await self._error("invalid_message", f"controls nest at most {MAX_CONTROL_DEPTH} deep")
            return
        try:
            control: Any = json.loads(text)
            if not isinstance(control, dict) or not control.keys() & {"annotate", "roi"}:
                raise InvalidInput('controls are {"annotate": bool} or {"roi": [[x, y], ...]}')
            if "annotate" in control:
                if not isinstance(control["annotate"], bool):
                    raise InvalidInput("annotate is true or false")
                self.annotate = control["annotate"]
            if "roi" in control:
                await asyncio.to_thread(self._store_roi, control["roi"])
        except ValueError:
            await self._error("invalid_message", "control messages are JSON objects")
        except DomainError as error:
            await self._error("invalid_message", error.message)

    def _store_roi(self, points: Any) -> None:
        """Validate, store and apply an ROI sent on the socket."""
        if points is not None and not isinstance(points, list):
            raise InvalidInput("roi is a list of [x, y] points or null")
        with self.db_sessions() as db:
            session = service.get_owned(
                db=db, session_id=self.connection.checkout.session_id, user=self.user
            )
            store_roi(db=db, live=self.live, session=session, points=points)

    async def _process(self) -> tuple[int, str]:
        """Process the newest frame, reply, repeat; returns the close code once it must stop."""
        checkout = self.connection.checkout
        while True:
            frame = await self.slot.take()
            try:
                outcome = await asyncio.to_thread(
                    checkout.process_jpeg, frame.data, frame.received_at, annotate=self.annotate
                )
            except InvalidInput as error:
                await self._error("invalid_frame", error.message, frame.frame_id)
                continue
            except Conflict as error:
                await self._error("session_not_active", error.message, frame.frame_id)
                return CLOSE_NOT_ACTIVE, error.message
            await self._send(
                FrameReply(
                    frame_id=frame.frame_id,
                    detections=outcome.detections,
                    events=outcome.events,
                    cart=outcome.cart,
                    timings_ms=outcome.timings_ms,
                    dropped_frames=self.slot.dropped,
                    annotated_jpeg=outcome.annotated_jpeg,
                )
            )
