"""``ebrcs serve``: run the HTTP server."""

from __future__ import annotations

import os
import shutil

import typer
import uvicorn

from ebrcs import metrics
from ebrcs.auth.websocket import MAX_TOKEN_MESSAGE_CHARS
from ebrcs.config import Settings, get_settings

# UTF-8 takes at most this many bytes a character; text limits are counted in characters.
MAX_UTF8_BYTES_PER_CHAR = 4
# How far past the socket's own limits uvicorn still reads a message (see ``ws_max_size``).
WS_HEADROOM = 2


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
        ws_max_size=ws_max_size(settings),
    )


def ws_max_size(settings: Settings) -> int:
    """The largest WebSocket message uvicorn reads (its own default is 16 MiB), in bytes.

    Twice the largest the checkout socket takes (a frame of ``max_frame_bytes``, a control
    of ``max_control_bytes`` characters, the login message): a frame a little over the limit
    still gets the socket's ``frame_too_large`` answer, while a larger message is refused by
    uvicorn (close 1009) before it is buffered.
    """
    largest = max(
        settings.max_frame_bytes,
        settings.max_control_bytes * MAX_UTF8_BYTES_PER_CHAR,
        MAX_TOKEN_MESSAGE_CHARS * MAX_UTF8_BYTES_PER_CHAR,
    )
    return WS_HEADROOM * largest


def _share_metrics(settings: Settings) -> None:
    """Let every worker record into one fresh folder, so a scrape of any of them sees all."""
    if os.environ.get(metrics.MULTIPROCESS_DIR_VARIABLE):
        return  # the operator's own folder
    folder = settings.data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)  # the last run's workers are gone
    folder.mkdir(parents=True)
    os.environ[metrics.MULTIPROCESS_DIR_VARIABLE] = str(folder)
