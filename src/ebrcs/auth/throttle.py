"""Login throttling kept in the database, so that every server process counts the same failures.

Each login attempt is counted under two keys: the username tried *from that client address*,
and the client address. ``login_max_failures`` failures of one username from one address
(``login_max_failures_per_address`` from one address, whatever the usernames) within
``login_window_seconds`` block that key for ``login_block_seconds``. An account is therefore
never locked for an address that has not failed on it: nobody can lock another person (or
the admin) out by failing on purpose. Unknown usernames are counted exactly like existing
ones, so a 429 says nothing about whether an account exists.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ebrcs.auth.models import LoginThrottle
from ebrcs.config import Settings
from ebrcs.db.base import utcnow
from ebrcs.errors import ErrorCode, TooManyRequests

log = logging.getLogger(__name__)

USERNAME_KEY_PREFIX = "username:"
ADDRESS_KEY_PREFIX = "address:"
SIGNUP_KEY_PREFIX = "signup:"
# Keys must fit LoginThrottle.key (200); longer usernames cannot exist anyway.
_MAX_KEY_PART = 90


@dataclass(frozen=True)
class ThrottleKey:
    """One counter a login attempt is charged to, and how many failures it tolerates."""

    key: str
    max_failures: int


def _account_key(username: str, client_address: str) -> str:
    return (
        f"{USERNAME_KEY_PREFIX}{username.lower()[:_MAX_KEY_PART]}@{client_address[:_MAX_KEY_PART]}"
    )


def keys_for(*, username: str, client_address: str, settings: Settings) -> list[ThrottleKey]:
    """The username-from-this-address counter and the address counter of one login attempt."""
    return [
        ThrottleKey(_account_key(username, client_address), settings.login_max_failures),
        ThrottleKey(
            ADDRESS_KEY_PREFIX + client_address[:_MAX_KEY_PART],
            settings.login_max_failures_per_address,
        ),
    ]


def check(*, db: Session, keys: list[ThrottleKey]) -> None:
    """Raise TooManyRequests (with the seconds to wait) if any of the keys is blocked now."""
    now = utcnow()
    blocked_until = db.scalar(
        select(func.max(LoginThrottle.blocked_until)).where(
            LoginThrottle.key.in_([key.key for key in keys]), LoginThrottle.blocked_until > now
        )
    )
    if blocked_until is not None:
        wait = max(1, math.ceil((blocked_until - now).total_seconds()))
        raise TooManyRequests(
            "too many failed logins; try again later",
            retry_after_seconds=wait,
            code=ErrorCode.LOGIN_THROTTLED,
        )


def record_failure(*, db: Session, keys: list[ThrottleKey], settings: Settings) -> None:
    """Count one failed login under every key, blocking those over their limit; commit."""
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    _purge_stale(db=db, now=now, window=window)
    for key in keys:
        row = _locked_row(db=db, key=key.key, now=now)
        window_over = row.window_started_at + window <= now
        block_over = row.blocked_until is not None and row.blocked_until <= now
        if window_over or block_over:
            row.failures, row.window_started_at, row.blocked_until = 0, now, None
        row.failures += 1
        if row.failures >= key.max_failures and row.blocked_until is None:
            row.blocked_until = now + timedelta(seconds=settings.login_block_seconds)
            # The username part is not logged: people type passwords into that field.
            kind = "username" if key.key.startswith(USERNAME_KEY_PREFIX) else key.key
            log.warning(
                "login blocked for %s seconds after %d failures (%s)",
                settings.login_block_seconds,
                row.failures,
                kind,
            )
    db.commit()


def charge_signup(*, db: Session, client_address: str, settings: Settings) -> None:
    """Count one sign-up from an address; TooManyRequests past its limit in the window; commit.

    Each sign-up costs a password hash and a row, so an address gets
    ``signup_max_per_address`` of them per ``signup_window_seconds``. The counter reuses the
    login table (``failures`` counts sign-ups here).
    """
    now = utcnow()
    window = timedelta(seconds=settings.signup_window_seconds)
    _purge_stale(db=db, now=now, window=window, signups=True)
    row = _locked_row(db=db, key=SIGNUP_KEY_PREFIX + client_address[:_MAX_KEY_PART], now=now)
    if row.window_started_at + window <= now:
        row.failures, row.window_started_at = 0, now
    if row.failures >= settings.signup_max_per_address:
        wait = max(1, math.ceil((row.window_started_at + window - now).total_seconds()))
        db.rollback()
        raise TooManyRequests(
            "too many sign-ups from this address; try again later",
            retry_after_seconds=wait,
            code=ErrorCode.SIGNUP_THROTTLED,
        )
    row.failures += 1
    db.commit()


def clear(*, db: Session, username: str, client_address: str) -> None:
    """Forget a username's failures from this address after a successful login; commit.

    The address counter is kept: otherwise one valid account would let its owner reset the
    counter between guesses at other accounts.
    """
    key = _account_key(username, client_address)
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    db.commit()


def _locked_row(*, db: Session, key: str, now: datetime) -> LoginThrottle:
    """The counter row of a key, created if missing and locked for this transaction."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LoginThrottle).values(key=key, failures=0, window_started_at=now)
    # An upsert is one atomic statement that also locks an existing row (PostgreSQL) or runs
    # under the write lock (SQLite): concurrent processes never lose a count or collide.
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"failures": LoginThrottle.failures}
    ).returning(LoginThrottle)
    return db.scalars(statement, execution_options={"populate_existing": True}).one()


def _purge_stale(*, db: Session, now: datetime, window: timedelta, signups: bool = False) -> None:
    """Delete login (or sign-up) counters whose window and block are both over."""
    is_signup = LoginThrottle.key.startswith(SIGNUP_KEY_PREFIX)
    db.execute(
        delete(LoginThrottle).where(
            is_signup if signups else ~is_signup,
            LoginThrottle.window_started_at < now - window,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= now),
        )
    )
