"""A server started without an active admin tells the operator how to create one."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.app import create_app
from ebrcs.auth import service
from ebrcs.auth.models import Role
from ebrcs.config import Settings

HOW_TO = "ebrcs users create NAME --role admin"


def _start(settings: Settings) -> None:
    with TestClient(create_app(settings)):
        pass


def test_start_without_an_admin_says_how_to_create_one(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ebrcs.auth.startup"):
        _start(settings)
    assert HOW_TO in caplog.text


def test_start_with_only_an_inactive_admin_says_it_too(
    settings: Settings, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with sessions() as db:
        admin = service.create(db=db, username="alice", password="correct horse", role=Role.ADMIN)
        service.set_active(db=db, user=admin, active=False)
    with caplog.at_level(logging.WARNING, logger="ebrcs.auth.startup"):
        _start(settings)
    assert HOW_TO in caplog.text


def test_start_with_an_active_admin_is_quiet(
    settings: Settings, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with sessions() as db:
        service.create(db=db, username="alice", password="correct horse", role=Role.ADMIN)
    with caplog.at_level(logging.WARNING, logger="ebrcs.auth.startup"):
        _start(settings)
    assert HOW_TO not in caplog.text
