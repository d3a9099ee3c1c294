"""Auth dependencies: every route states who may call it through one of these."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from ebrcs.auth import tokens
from ebrcs.auth.models import Role, User
from ebrcs.deps import DbSession, SettingsDep
from ebrcs.errors import ErrorCode, Forbidden, NotAuthenticated

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


def load_active_user(token: str | None, *, db: DbSession, settings: SettingsDep) -> User:
    """The active user a bearer token belongs to; NotAuthenticated otherwise."""
    if not token:
        raise NotAuthenticated("not authenticated")
    claims = tokens.verify(token, settings)
    user = db.get(User, claims.user_id)
    # End the read at once: on SQLite a transaction holds the write lock until it ends, and
    # the route may do slow work before it touches the database again.
    db.commit()
    if user is None or not user.is_active or user.token_version != claims.version:
        raise NotAuthenticated("invalid or expired token", code=ErrorCode.INVALID_TOKEN)
    return user


def current_user(
    db: DbSession, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """The logged-in caller (401 without a valid token)."""
    return load_active_user(token, db=db, settings=settings)


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    """The logged-in caller, who must be an admin (403 otherwise)."""
    if user.role != Role.ADMIN:
        raise Forbidden("admin role required", code=ErrorCode.ADMIN_REQUIRED)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(require_admin)]
