"""``ebrcs serve``: run the HTTP server."""

from __future__ import annotations

import typer
import uvicorn

from ebrcs.config import get_settings


def serve(
    host: str | None = typer.Option(None, help="bind address (default EBRCS_HOST)"),
    port: int | None = typer.Option(None, help="port (default EBRCS_PORT)"),
    workers: int = typer.Option(1, min=1, help="worker processes"),
) -> None:
    """Serve the API and the web app."""
    settings = get_settings()
    uvicorn.run(
        "ebrcs.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )
