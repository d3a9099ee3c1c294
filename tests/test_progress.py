"""Progress bars refresh live on a terminal and only now and then in a log."""

from __future__ import annotations

import io
import itertools

from tqdm import tqdm

from ebrcs.progress import LOG_REFRESH_SECONDS, TERMINAL_REFRESH_SECONDS, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _refreshes(bar: tqdm, log: io.StringIO, updates: int) -> int:
    """How often ``bar`` is written for ``updates`` updates one (simulated) second apart."""
    clock = itertools.count(start=bar.start_t, step=1.0)
    bar._time = lambda: next(clock)  # tqdm reads its clock here, which its own tests use
    for _ in range(updates):
        bar.update()
    bar.close()
    return log.getvalue().count("products")


def test_a_bar_written_to_a_log_is_written_every_half_minute_not_per_update() -> None:
    log = io.StringIO()
    bar = progress_bar(total=300, file=log, desc="products")
    # 300 updates over five minutes: the start, one line per 30 s, the end.
    assert _refreshes(bar, log, 300) <= 2 + 300 / LOG_REFRESH_SECONDS


def test_a_bar_on_a_terminal_refreshes_live() -> None:
    with progress_bar(total=3, file=Terminal()) as bar:
        assert bar.mininterval == TERMINAL_REFRESH_SECONDS
