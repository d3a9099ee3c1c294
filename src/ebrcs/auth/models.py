"""Tables of the auth domain."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from ebrcs.db.base import Base, UUIDPrimaryKey, string_enum, utcnow


class Role(enum.StrEnum):
    """What a user may do: shoppers check out, admins also run the catalogue."""

    USER = "user"
    ADMIN = "admin"


class User(UUIDPrimaryKey, Base):
    """A person who logs in."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(50), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        string_enum(Role, "user_role"),
        default=Role.USER,
    )
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Carried in every token; raising it (a password reset) revokes the tokens issued before."""

    __table_args__ = (CheckConstraint("length(username) >= 3", name="username_length"),)


class LoginThrottle(Base):
    """Failed-login counter for one key (a username or a client address), shared by processes."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None]
