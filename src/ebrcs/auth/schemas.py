"""Request and response bodies of the auth routes (never a password or a hash going out)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ebrcs.auth.models import Role


class SignupRequest(BaseModel):
    """A new shopper account; the rules are checked by the service (422 with a message)."""

    username: str
    password: str
    email: str | None = None


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
