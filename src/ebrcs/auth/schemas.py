"""Request and response bodies of the auth routes (never a password or a hash going out)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict

from ebrcs.auth.models import Role
from ebrcs.auth.service import (
    EMAIL_MAX,
    EMAIL_PATTERN,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_PATTERN,
)
from ebrcs.text import text


class SignupRequest(BaseModel):
    """A new shopper account; the service applies the same rules for accounts made elsewhere."""

    username: Annotated[str, text(max_length=50, pattern=USERNAME_PATTERN.pattern)]
    password: Annotated[str, text(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
    email: Annotated[str, text(max_length=EMAIL_MAX, pattern=EMAIL_PATTERN.pattern)] | None = None


class AccessTokenResponse(BaseModel):
    """A bearer token and how many seconds it lives."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserOut(BaseModel):
    """A user account as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    role: Role
    email: str | None
    created_at: datetime
    last_login: datetime | None
    is_active: bool


class MeOut(UserOut):
    """The caller's own account and the shop's currency, which every page needs for prices."""

    currency: str
