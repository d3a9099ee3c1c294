"""What the auth domain checks when a server process starts."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth import service

log = logging.getLogger(__name__)


def warn_if_no_admin(sessions: sessionmaker[Session]) -> None:
    """Tell the operator how to create an admin when no active one exists."""
    try:
        with sessions() as db:
            if service.admin_exists(db=db):
                return
    except SQLAlchemyError as error:
        log.warning("could not check for an admin account: %s", error)
        return
    log.warning(
        "no active admin account exists: nobody can register products. Create one with "
        "`ebrcs users create NAME --role admin` (or `ebrcs users set-role NAME admin`)"
    )
