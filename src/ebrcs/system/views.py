"""Health endpoint."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ebrcs.catalog.service import highest_embedding_id
from ebrcs.checkout.models import CheckoutSession, SessionStatus
from ebrcs.deps import RuntimeDep

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
            database_watermark = highest_embedding_id(db=db)
            body["index"] = {
                "process": os.getpid(),
                "watermark": runtime.index.watermark,
                "database_watermark": database_watermark,
                "lag": max(0, database_watermark - runtime.index.watermark),
            }
    except SQLAlchemyError as error:
        log.warning("health check: database unreachable: %s", error)
        body.update(status="degraded", database="unreachable")
    return body
