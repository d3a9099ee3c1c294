"""Browser test harness: a real server in a subprocess and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright
from sqlalchemy.orm import Session

from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
SERVER_START_SECONDS = 120
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def require_chromium() -> str:
    """Debian's Chromium; skip (outside CI) or fail (in CI) when it is missing."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if IN_CI:
        pytest.fail(f"CI=true needs Chromium: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium(playwright: Playwright, fake_video: Path | None = None) -> Iterator[Browser]:
    """Headless Debian Chromium with a fake camera (a test pattern, or the given .y4m video)."""
    args = list(CHROMIUM_ARGS)
    if fake_video is not None:
        args.append(f"--use-file-for-fake-video-capture={fake_video}")
    browser = playwright.chromium.launch(executable_path=require_chromium(), args=args)
    try:
        yield browser
    finally:
        browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    """A uvicorn process serving the app on a fresh data dir and database."""

    url: str
    data_dir: Path
    database_url: str
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for the report of a failed test."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def create_account(self, role: Role, username: str | None = None) -> tuple[str, str]:
        """Create an account the way an operator does; returns (username, password)."""
        username = username or f"{role.value}_{uuid.uuid4().hex[:6]}"
        password = "correct-horse-" + uuid.uuid4().hex[:6]
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as db:
                users.create(db=db, username=username, password=password, role=role)
        finally:
            engine.dispose()
        return username, password


def start_server(root: Path) -> LiveServer:
    """Migrate a fresh SQLite database and start the server on a free port."""
    data_dir = root / "var"
    data_dir.mkdir(parents=True)
    database_url = f"sqlite:///{data_dir / 'ebrcs.db'}"
    migrate.upgrade(database_url)
    port = _free_port()
    # The developer's own EBRCS_* settings must not leak into the test server.
    env = {name: value for name, value in os.environ.items() if not name.startswith("EBRCS_")}
    env |= {
        "EBRCS_DATA_DIR": str(data_dir),
        "EBRCS_DATABASE_URL": database_url,
        "EBRCS_JWT_SECRET": "browser-test-" + uuid.uuid4().hex,
    }
    log_path = root / "server.log"
    command = [sys.executable, "-m", "uvicorn", "ebrcs.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2):
                return LiveServer(url, data_dir, database_url, log_path, process)
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"server did not answer within {SERVER_START_SECONDS} s")


def stop_server(server: LiveServer) -> None:
    """Stop the server process (and wait, so no process outlives the tests).

    The log's end goes to stdout, which pytest shows only when a test failed.
    """
    print(f"--- server log ({server.url}) ---\n{server.log_tail()}")
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@dataclass
class ConsoleWatch:
    """Every console error and uncaught page error of the pages it watches."""

    errors: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        """Record the page's errors."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def expect(self, pattern: str) -> None:
        """Allow one kind of error the test itself provokes (e.g. a 401 for a wrong password)."""
        self.expected.append(re.compile(pattern))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            text = f"console error: {message.text} at {message.location}"
            if not any(pattern.search(text) for pattern in self.expected):
                self.errors.append(text)


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/web/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # From the top: a full-page shot of a scrolled page paints the sticky bar mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path
