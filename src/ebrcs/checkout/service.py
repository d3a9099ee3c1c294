"""Checkout sessions: plain functions taking the database session explicitly."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from ebrcs.auth.models import User
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.db.base import utcnow
from ebrcs.errors import Conflict, NotFound


def create(*, db: Session, user: User) -> CheckoutSession:
    """Open and commit a new active session owned by ``user``."""
    session = CheckoutSession(user_id=user.id, session_metadata={})
    db.add(session)
    db.commit()
    return session


def get_owned(
    *, db: Session, session_id: uuid.UUID, user: User, for_update: bool = False
) -> CheckoutSession:
    """The caller's session; NotFound if it does not exist or belongs to someone else."""
    query_options = {"with_for_update": True} if for_update else {}
    session = db.get(CheckoutSession, session_id, **query_options)
    if session is None or session.user_id != user.id:
        raise NotFound("checkout session not found")
    return session


def require_active(session: CheckoutSession) -> CheckoutSession:
    """The session if its cart may still change; Conflict otherwise."""
    if session.status != SessionStatus.ACTIVE:
        raise Conflict(f"checkout session is {session.status.value}")
    return session


def touch(*, db: Session, session: CheckoutSession) -> None:
    """Mark the session as used now (it expires after being idle)."""
    session.last_active = utcnow()
