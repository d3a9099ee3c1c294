"""Health and Prometheus metrics endpoints."""

from __future__ import annotations

import hmac
import logging
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ebrcs import metrics
from ebrcs.catalog.service import highest_embedding_id
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.deps import RuntimeDep, SettingsDep
from ebrcs.errors import NotAuthenticated, NotFound
from ebrcs.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["system"])


@router.get("/api/health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    """Whether the server and its database work, and what it serves."""
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "active_sessions": None,
        "embedder": runtime.embedder.id,
        "index_size": runtime.index.ntotal,
    }
    try:
        with runtime.sessions() as db:
            db.execute(text("SELECT 1"))
            body["active_sessions"] = db.scalar(
                select(func.count()).where(CheckoutSession.status == SessionStatus.ACTIVE)
            )
            body["index"] = {
                "process": os.getpid(),
                "space": runtime.index.space.tag,  # the adapter version it searches in
                **_index_state(runtime, db),
            }
    except SQLAlchemyError as error:
        log.warning("health check: database unreachable: %s", error)
        body.update(status="degraded", database="unreachable")
    return body


scrape_token = HTTPBearer(auto_error=False)


def require_scrape_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scrape_token)],
) -> None:
    """The caller sent ``EBRCS_METRICS_TOKEN`` as its bearer token (404 when none is set)."""
    if settings.metrics_token is None:
        raise NotFound("metrics are off: set EBRCS_METRICS_TOKEN to serve them")
    sent = credentials.credentials if credentials else ""
    if not hmac.compare_digest(sent.encode(), settings.metrics_token.encode()):
        raise NotAuthenticated("metrics need the scrape token as a bearer token")


@router.get(
    "/metrics",
    dependencies=[Depends(require_scrape_token)],
    response_class=Response,
    include_in_schema=False,
)
def prometheus_metrics(runtime: RuntimeDep) -> Response:
    """Every metric in Prometheus' text format, the index's state read at this scrape."""
    with runtime.sessions() as db:
        state = _index_state(runtime, db)
    metrics.set_index_state(kind=runtime.index.kind, vectors=state["size"], lag=state["lag"])
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def _index_state(runtime: Runtime, db: Session) -> dict[str, int]:
    """This process's index beside the database: size, watermarks and how far it lags."""
    database_watermark = highest_embedding_id(db=db)
    return {
        "size": runtime.index.ntotal,
        "watermark": runtime.index.watermark,
        "database_watermark": database_watermark,
        "lag": max(0, database_watermark - runtime.index.watermark),
    }
