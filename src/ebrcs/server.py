"""``ebrcs serve``: run the HTTP server."""

from __future__ import annotations

import os
import shutil

import typer
import uvicorn

from ebrcs import metrics
from ebrcs.config import Settings, get_settings


def serve(
    host: str | None = typer.Option(None, help="bind address (default EBRCS_HOST)"),
    port: int | None = typer.Option(None, help="port (default EBRCS_PORT)"),
    workers: int = typer.Option(1, min=1, help="worker processes"),
) -> None:
    """Serve the API and the web app."""
    settings = get_settings()
    if workers > 1:
        _share_metrics(settings)
    uvicorn.run(
        "ebrcs.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )


def _share_metrics(settings: Settings) -> None:
    """Let every worker record into one fresh folder, so a scrape of any of them sees all."""
    if os.environ.get(metrics.MULTIPROCESS_DIR_VARIABLE):
        return  # the operator's own folder
    folder = settings.data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)  # the last run's workers are gone
    folder.mkdir(parents=True)
    os.environ[metrics.MULTIPROCESS_DIR_VARIABLE] = str(folder)
