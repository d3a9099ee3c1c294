"""Progress bars of long commands: live on a terminal, a sparse record in a log."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")

TERMINAL_REFRESH_SECONDS = 0.1
LOG_REFRESH_SECONDS = 30.0
"""Away from a terminal (a log file, CI) a bar is written this often at most, not per update."""


def progress_bar(
    iterable: Iterable[T] | None = None, *, file: IO[str] | None = None, **options: Any
) -> tqdm[T]:
    """A ``tqdm`` bar on ``file`` (stderr): refreshed live on a terminal, every 30 s elsewhere."""
    stream = file if file is not None else sys.stderr
    interval = TERMINAL_REFRESH_SECONDS if stream.isatty() else LOG_REFRESH_SECONDS
    # maxinterval too: tqdm's monitor thread would otherwise force a refresh every 10 s.
    return tqdm(iterable, file=stream, mininterval=interval, maxinterval=interval, **options)
