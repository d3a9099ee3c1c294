"""Fixtures of the browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_harness import LiveServer, require_chromium, start_server, stop_server


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the tests of a module."""
    require_chromium()
    server = start_server(tmp_path_factory.mktemp("server"))
    yield server
    stop_server(server)
