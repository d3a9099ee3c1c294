"""Web app routes: every page path answers the same shell; the browser routes by its path.

Pages and assets are public (they hold no data); everything they show comes from the
authenticated ``/api`` routes. They stay out of the OpenAPI schema, which lists only the API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

PAGE_PATHS = (
    "/",
    "/login",
    "/checkout",
    "/bill/{session_id}",
    "/receipt/{order_id}",
    "/me",
    "/admin/products",
    "/admin/dashboard",
)
"""Every path a person may open or bookmark; the shell's router knows the same list."""

# The shell loads only same-origin scripts and styles, so an injected tag could not run code
# even if escaping failed somewhere; camera frames and photos come from blob: URLs, and the
# checkout socket is same-origin ('self' covers ws:/wss: to this host).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)

SHELL_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


def _shell() -> FileResponse:
    """The single HTML page every route of the app starts from."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=SHELL_HEADERS)


for _path in PAGE_PATHS:
    router.add_api_route(_path, _shell, methods=["GET"], response_class=FileResponse)


def install_web_app(app: FastAPI) -> None:
    """Serve the pages and the static assets under ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
