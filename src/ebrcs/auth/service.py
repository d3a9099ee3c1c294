"""Account operations: plain functions taking the database session explicitly."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ebrcs.auth.models import Role, User
from ebrcs.auth.passwords import hash_password
from ebrcs.errors import Conflict, InvalidInput, NotFound

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128


def validate_username(username: str) -> str:
    """The username if it is 3-50 letters, digits, ``_``, ``.`` or ``-``."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput("username must be 3-50 characters of letters, digits, '_', '.' or '-'")
    return username


def validate_password(password: str) -> str:
    """The password if it is 8-128 characters."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    return password


def get(*, db: Session, user_id: uuid.UUID) -> User | None:
    """The user with this id, or None."""
    return db.get(User, user_id)


def get_by_username(*, db: Session, username: str) -> User | None:
    """The user with this username, or None."""
    return db.scalar(select(User).where(User.username == username))


def require_by_username(*, db: Session, username: str) -> User:
    """The user with this username; NotFound otherwise."""
    user = get_by_username(db=db, username=username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def create(
    *, db: Session, username: str, password: str, role: Role = Role.USER, email: str | None = None
) -> User:
    """Create and commit a user with a hashed password."""
    validate_username(username)
    validate_password(password)
    if get_by_username(db=db, username=username) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role, email=email)
    db.add(user)
    db.commit()
    return user


def list_all(*, db: Session) -> list[User]:
    """Every user, oldest first."""
    return list(db.scalars(select(User).order_by(User.created_at)))


def admin_exists(*, db: Session) -> bool:
    """Whether at least one active admin can log in."""
    query = select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True)).limit(1)
    return db.scalar(query) is not None
