"""The per-process runtime: settings, database sessions and the long-lived components."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth.startup import warn_if_no_admin
from ebrcs.config import Settings
from ebrcs.db.engine import session_factory


@dataclass
class Runtime:
    """Everything a request handler may need beyond its own request."""

    settings: Settings
    sessions: sessionmaker[Session]

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Build the runtime for a server process."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.resolved_jwt_secret()  # created on first start, kept in the data dir
        sessions = session_factory(settings)
        warn_if_no_admin(sessions)
        return cls(settings=settings, sessions=sessions)

    def close(self) -> None:
        """Release what the runtime holds."""
