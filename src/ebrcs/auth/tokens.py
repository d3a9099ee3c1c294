"""JWT access tokens: HS256 pinned on decode, short-lived, tied to a user id and role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt

from ebrcs.auth.models import Role, User
from ebrcs.config import Settings
from ebrcs.db.base import utcnow
from ebrcs.errors import ErrorCode, NotAuthenticated


@dataclass(frozen=True)
class AccessToken:
    """An encoded token and how many seconds it lives."""

    token: str
    expires_in: int


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    user_id: uuid.UUID
    role: Role
    version: int
    """The user's token version when the token was issued."""


def issue(user: User, settings: Settings) -> AccessToken:
    """A signed access token for the user."""
    now = utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user.id),
        "role": user.role.value,
        "ver": user.token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    token = jwt.encode(claims, settings.resolved_jwt_secret(), algorithm=settings.jwt_algorithm)
    return AccessToken(token=token, expires_in=int(lifetime.total_seconds()))


def verify(token: str, settings: Settings) -> TokenClaims:
    """The claims of a valid token; NotAuthenticated for anything else."""
    try:
        claims = jwt.decode(
            token,
            settings.resolved_jwt_secret(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "role", "ver", "iat", "exp"]},
        )
        if not isinstance(claims["ver"], int) or isinstance(claims["ver"], bool):
            raise ValueError("the token version is not a number")
        return TokenClaims(
            user_id=uuid.UUID(claims["sub"]), role=Role(claims["role"]), version=claims["ver"]
        )
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise NotAuthenticated("invalid or expired token", code=ErrorCode.INVALID_TOKEN) from error
