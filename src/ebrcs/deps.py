"""FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from ebrcs.checkout.live import LiveCheckoutParts
from ebrcs.config import Settings
from ebrcs.runtime import Runtime


def get_runtime(connection: HTTPConnection) -> Runtime:
    """The process runtime the app was started with (for requests and sockets alike)."""
    return connection.app.state.runtime


def get_settings(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Settings:
    """The settings the app was started with."""
    return runtime.settings


def get_db(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """One database session per request."""
    with runtime.sessions() as session:
        yield session


def get_live_parts(runtime: Annotated[Runtime, Depends(get_runtime)]) -> LiveCheckoutParts:
    """What a live checkout (socket or video) is built from: the runtime's shared parts."""
    return LiveCheckoutParts(
        recogniser=runtime.recogniser,
        index=runtime.index,
        db_sessions=runtime.sessions,
        settings=runtime.settings,
    )


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[Session, Depends(get_db)]
LivePartsDep = Annotated[LiveCheckoutParts, Depends(get_live_parts)]
