"""The FastAPI application: routers of every domain on one runtime."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ebrcs import __version__
from ebrcs.auth.views import router as auth_router
from ebrcs.body_limit import MULTIPART_OVERHEAD_BYTES, BodyLimit, RouteLimit
from ebrcs.catalog.views import router as catalog_router
from ebrcs.checkout.expiry import expire_idle_sessions_forever
from ebrcs.checkout.video import VideoTasks
from ebrcs.checkout.views import billing_router
from ebrcs.checkout.views import router as checkout_router
from ebrcs.checkout.websocket import LiveCheckouts
from ebrcs.checkout.websocket import router as checkout_socket_router
from ebrcs.config import Settings, get_settings
from ebrcs.http_errors import install_error_handlers
from ebrcs.openapi import install_openapi
from ebrcs.orders.views import admin_router as orders_admin_router
from ebrcs.orders.views import confirm_router, orders_router
from ebrcs.runtime import Runtime
from ebrcs.system.sockets import CountOpenSockets
from ebrcs.system.views import router as system_router
from ebrcs.web.views import install_web_app

log = logging.getLogger(__name__)


def upload_limits(settings: Settings) -> list[RouteLimit]:
    """Upload routes get room for their files; every other body gets ``max_body_bytes``."""
    envelope = MULTIPART_OVERHEAD_BYTES
    photos = settings.max_images_per_product * settings.max_upload_bytes + envelope
    video = settings.max_video_bytes + envelope
    return [
        RouteLimit(re.compile(r"/api/products(/[^/]+/images)?"), photos),
        RouteLimit(re.compile(r"/api/recognize"), settings.max_upload_bytes + envelope),
        RouteLimit(re.compile(r"/api/sessions/[^/]+/video-upload"), video),
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; the runtime starts with the app's lifespan."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = app.state.runtime = Runtime.start(settings)
        app.state.live_checkouts = LiveCheckouts()
        app.state.video_tasks = VideoTasks(max_running=settings.max_video_tasks)
        session_expiry = asyncio.create_task(
            expire_idle_sessions_forever(db_sessions=runtime.sessions, settings=settings)
        )
        try:
            yield
        finally:
            session_expiry.cancel()
            await asyncio.to_thread(app.state.video_tasks.shutdown)
            runtime.close()

    app = FastAPI(title="EBRCS", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit, default_bytes=settings.max_body_bytes, routes=upload_limits(settings)
    )
    app.add_middleware(CountOpenSockets)
    app.include_router(system_router)
    app.include_router(auth_router)
    app.include_router(catalog_router)
    app.include_router(checkout_router)
    app.include_router(checkout_socket_router)
    app.include_router(billing_router)
    app.include_router(confirm_router)
    app.include_router(orders_router)
    app.include_router(orders_admin_router)
    install_web_app(app)
    install_openapi(app, settings)
    return app
