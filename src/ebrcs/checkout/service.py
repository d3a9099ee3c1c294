"""Checkout sessions: plain functions taking the database session explicitly."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ebrcs.auth.models import User
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.checkout.pipeline.zone import check_polygon
from ebrcs.db.base import utcnow
from ebrcs.errors import Conflict, ErrorCode, InvalidInput, NotFound

ROI_KEY = "roi"
MAX_ROI_POINTS = 64
# Polygons smaller than this share of the frame are almost certainly a mis-click.
MIN_ROI_AREA = 1e-4

Roi = list[tuple[float, float]]


def create(
    *, db: Session, user: User, max_open: int | None = None, ttl_minutes: int | None = None
) -> CheckoutSession:
    """Open and commit a new active session owned by ``user``.

    With ``max_open``, Conflict when the user already has that many active sessions used in
    the last ``ttl_minutes`` (older ones are about to expire and do not count).
    """
    if max_open is not None:
        # Lock the user's row so concurrent opens are counted one after the other.
        db.get(User, user.id, with_for_update=True)
        recent = select(func.count()).where(
            CheckoutSession.user_id == user.id, CheckoutSession.status == SessionStatus.ACTIVE
        )
        if ttl_minutes is not None:
            recent = recent.where(
                CheckoutSession.last_active > utcnow() - timedelta(minutes=ttl_minutes)
            )
        if (db.scalar(recent) or 0) >= max_open:
            db.rollback()
            raise Conflict(
                f"at most {max_open} checkout sessions may be open at once: end one first",
                code=ErrorCode.TOO_MANY_OPEN_SESSIONS,
            )
    session = CheckoutSession(user_id=user.id, session_metadata={})
    db.add(session)
    db.commit()
    return session


def get_owned(*, db: Session, session_id: uuid.UUID, user: User) -> CheckoutSession:
    """The caller's session; NotFound if it does not exist or belongs to someone else."""
    session = db.get(CheckoutSession, session_id)
    if session is None or session.user_id != user.id:
        raise NotFound("checkout session not found", code=ErrorCode.SESSION_NOT_FOUND)
    return session


def list_owned(*, db: Session, user: User, limit: int) -> Sequence[CheckoutSession]:
    """The caller's sessions, most recently used first."""
    query = (
        select(CheckoutSession)
        .where(CheckoutSession.user_id == user.id)
        .order_by(CheckoutSession.last_active.desc())
        .limit(limit)
    )
    return db.scalars(query).all()


def require_active(session: CheckoutSession) -> CheckoutSession:
    """The session if its cart may still change; Conflict otherwise."""
    if session.status != SessionStatus.ACTIVE:
        raise Conflict(
            f"checkout session is {session.status.value}", code=ErrorCode.SESSION_NOT_ACTIVE
        )
    return session


def touch(session: CheckoutSession) -> None:
    """Mark the session as used now (it expires after being idle)."""
    session.last_active = utcnow()


def keep_alive(*, db: Session, session_id: uuid.UUID) -> None:
    """Mark a streaming session as used now, in one statement; Conflict once it is not active."""
    result = db.execute(
        update(CheckoutSession)
        .where(
            CheckoutSession.id == session_id,
            CheckoutSession.status == SessionStatus.ACTIVE,
        )
        .values(last_active=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.commit()
    if not result.rowcount:
        raise Conflict("checkout session is no longer active", code=ErrorCode.SESSION_NOT_ACTIVE)


def end(*, db: Session, session: CheckoutSession) -> CheckoutSession:
    """End an active session early: it becomes ``expired`` and its cart is kept as it is."""
    if session.status == SessionStatus.ACTIVE:
        session.status = SessionStatus.EXPIRED
        db.commit()
    return session


def is_idle(session: CheckoutSession, *, ttl_minutes: int, now: datetime | None = None) -> bool:
    """Whether an active session has been unused for longer than the TTL."""
    idle_since = (now or utcnow()) - timedelta(minutes=ttl_minutes)
    return session.status == SessionStatus.ACTIVE and session.last_active < idle_since


def expire_if_idle(*, db: Session, session: CheckoutSession, ttl_minutes: int) -> CheckoutSession:
    """The session, first marked expired if it was idle past the TTL."""
    if is_idle(session, ttl_minutes=ttl_minutes):
        end(db=db, session=session)
    return session


def expire_idle(*, db: Session, ttl_minutes: int, now: datetime | None = None) -> int:
    """Mark every active session idle past the TTL as expired, keeping carts; how many."""
    # Portable SQL rather than PostgreSQL's cleanup_expired_sessions(hours): the TTL is minutes.
    idle_since = (now or utcnow()) - timedelta(minutes=ttl_minutes)
    result = db.execute(
        update(CheckoutSession)
        .where(
            CheckoutSession.status == SessionStatus.ACTIVE,
            CheckoutSession.last_active < idle_since,
        )
        .values(status=SessionStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return result.rowcount or 0


def validate_roi(points: Sequence[Sequence[float]]) -> Roi:
    """A region of interest as a polygon of normalised ``(x, y)``; InvalidInput otherwise."""
    if len(points) > MAX_ROI_POINTS:
        raise InvalidInput(
            f"an ROI has at most {MAX_ROI_POINTS} points", code=ErrorCode.INVALID_ROI
        )
    # NaN and infinities fail its [0, 1] range check.
    polygon = check_polygon(points)
    if polygon_area(polygon) < MIN_ROI_AREA:
        raise InvalidInput("the ROI polygon encloses no area", code=ErrorCode.INVALID_ROI)
    return polygon


def polygon_area(polygon: Roi) -> float:
    """Area of a simple polygon (shoelace formula), in frame fractions."""
    twice_area = sum(
        x0 * y1 - x1 * y0
        for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True)
    )
    return abs(twice_area) / 2.0


def roi_of(session: CheckoutSession) -> Roi | None:
    """The session's stored ROI, or None when the whole frame is the scan zone."""
    stored = (session.session_metadata or {}).get(ROI_KEY)
    return [(float(x), float(y)) for x, y in stored] if stored else None


def set_roi(*, db: Session, session: CheckoutSession, roi: Roi | None) -> CheckoutSession:
    """Store (or with None clear) the active session's ROI in its metadata."""
    require_active(session)
    metadata = dict(session.session_metadata or {})
    if roi is None:
        metadata.pop(ROI_KEY, None)
    else:
        metadata[ROI_KEY] = [[x, y] for x, y in roi]
    # A new dict, so the JSON column is seen as changed.
    session.session_metadata = metadata
    touch(session)
    db.commit()
    return session
