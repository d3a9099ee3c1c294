"""Account operations: plain functions taking the database session explicitly."""

from __future__ import annotations

import re
import uuid
from functools import cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ebrcs.auth.models import Role, User
from ebrcs.auth.passwords import hash_password, verify_password
from ebrcs.db.base import utcnow
from ebrcs.errors import Conflict, ErrorCode, InvalidInput, NotFound

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
EMAIL_PATTERN = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
EMAIL_MAX = 255


def validate_username(username: str) -> str:
    """The username if it is 3-50 letters, digits, ``_``, ``.`` or ``-``."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(
            "username must be 3-50 characters of letters, digits, '_', '.' or '-'",
            code=ErrorCode.INVALID_USERNAME,
        )
    return username


def validate_password(password: str) -> str:
    """The password if it is 8-128 characters."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(
            f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters",
            code=ErrorCode.INVALID_PASSWORD,
        )
    return password


def validate_email(email: str) -> str:
    """The address if it looks like ``name@host.domain`` and fits its column."""
    if len(email) > EMAIL_MAX or not EMAIL_PATTERN.fullmatch(email):
        raise InvalidInput("email must look like name@example.com", code=ErrorCode.INVALID_EMAIL)
    return email


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
        raise NotFound(f"no user named {username!r}", code=ErrorCode.USER_NOT_FOUND)
    return user


def create(
    *,
    db: Session,
    username: str,
    password: str,
    role: Role = Role.USER,
    email: str | None = None,
    enforce_password_rules: bool = True,
) -> User:
    """Create and commit a user with a hashed password.

    ``enforce_password_rules=False`` exists only for the explicit, insecure demo accounts.
    """
    validate_username(username)
    if enforce_password_rules:
        validate_password(password)
    if email is not None:
        validate_email(email)
    if get_by_username(db=db, username=username) is not None:
        raise Conflict(f"username {username!r} is taken", code=ErrorCode.USERNAME_TAKEN)
    user = User(username=username, password_hash=hash_password(password), role=role, email=email)
    db.add(user)
    try:
        db.commit()
    except IntegrityError as error:
        # Another request took the name between the check above and this commit.
        db.rollback()
        raise Conflict(f"username {username!r} is taken", code=ErrorCode.USERNAME_TAKEN) from error
    return user


def list_all(*, db: Session) -> list[User]:
    """Every user, oldest first."""
    return list(db.scalars(select(User).order_by(User.created_at)))


def admin_exists(*, db: Session) -> bool:
    """Whether at least one active admin can log in."""
    query = select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True)).limit(1)
    return db.scalar(query) is not None


def set_role(*, db: Session, user: User, role: Role) -> User:
    """Give the user another role and commit."""
    user.role = role
    db.commit()
    return user


def set_active(*, db: Session, user: User, active: bool) -> User:
    """Allow or block the user's logins and tokens, and commit."""
    user.is_active = active
    db.commit()
    return user


def set_password(*, db: Session, user: User, password: str) -> User:
    """Replace the user's password (validated, hashed), revoke the user's tokens, and commit."""
    user.password_hash = hash_password(validate_password(password))
    user.token_version += 1
    db.commit()
    return user


def record_login(*, db: Session, user: User) -> None:
    """Stamp a successful login and commit."""
    user.last_login = utcnow()
    db.commit()


def password_matches(user: User | None, password: str) -> bool:
    """Whether the password is the user's; as slow for a missing user as for a real one."""
    if user is None:
        # Verifying against a throwaway hash keeps unknown usernames from answering faster.
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(user.password_hash, password)


@cache
def _dummy_hash() -> str:
    return hash_password(uuid.uuid4().hex)
