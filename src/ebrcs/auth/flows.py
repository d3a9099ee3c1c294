"""Logging in: throttle check, credential check, failure counting, token."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from ebrcs.auth import service, throttle, tokens
from ebrcs.config import Settings
from ebrcs.errors import ErrorCode, NotAuthenticated

log = logging.getLogger(__name__)


def log_in(
    *, db: Session, settings: Settings, username: str, password: str, client_address: str
) -> tokens.AccessToken:
    """An access token for valid credentials of an active user.

    Raises TooManyRequests while the username (from this address) or the address is blocked,
    and one and the same NotAuthenticated for an unknown username, a wrong password and an
    inactive account.
    """
    keys = throttle.keys_for(username=username, client_address=client_address, settings=settings)
    throttle.check(db=db, keys=keys)
    user = service.get_by_username(db=db, username=username)
    # End the read transaction before hashing: on SQLite it holds the database's write lock.
    db.commit()
    matches = service.password_matches(user, password)
    if user is None or not matches or not user.is_active:
        throttle.record_failure(db=db, keys=keys, settings=settings)
        # Only a real account's name is logged: people type passwords into the username field.
        who = user.username if user is not None else "an unknown username"
        log.info("failed login for %s from %s", who, client_address)
        raise NotAuthenticated("incorrect username or password", code=ErrorCode.INVALID_CREDENTIALS)
    throttle.clear(db=db, username=username, client_address=client_address)
    service.record_login(db=db, user=user)
    log.info("user %s logged in from %s", user.username, client_address)
    return tokens.issue(user, settings)
