"""Browser test harness: a real server in a subprocess and Debian's Chromium via Playwright."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect
from sqlalchemy.orm import Session

from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine
from live_server import ServerProcess, spawn_server

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
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


@dataclass
class LiveServer:
    """A server process on a fresh data dir and SQLite database."""

    process: ServerProcess
    data_dir: Path
    database_url: str

    @property
    def url(self) -> str:
        """Where the server answers."""
        return self.process.url

    def log_tail(self) -> str:
        """The end of the server's log, for the report of a failed test."""
        return self.process.log_tail()

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
    env = {
        "EBRCS_DATA_DIR": str(data_dir),
        "EBRCS_DATABASE_URL": database_url,
        "EBRCS_JWT_SECRET": "browser-test-" + uuid.uuid4().hex,
        # Set, not defaulted: the tests expect prices such as 1.20 shown as "€1.20".
        "EBRCS_CURRENCY": "EUR",
    }
    process = spawn_server(env=env, log_path=root / "server.log")
    return LiveServer(process, data_dir, database_url)


def stop_server(server: LiveServer) -> None:
    """Stop the server process (and wait, so no process outlives the tests).

    The log's end goes to stdout, which pytest shows only when a test failed.
    """
    print(f"--- server log ({server.url}) ---\n{server.log_tail()}")
    server.process.stop()


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


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/web/: the whole page, or what the screen shows."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # From the top: a full-page shot of a scrolled page paints the sticky bar mid-page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(
    page: Page, server: LiveServer, username: str, password: str, *, succeeds: bool = True
) -> None:
    """Log in through the login form; by default, wait until the app has left the login page."""
    page.goto(f"{server.url}/login")
    form = page.get_by_role("form", name="Log in")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    if succeeds:
        expect(page).not_to_have_url(re.compile(r"/login"))


def product_photo(colour: tuple[int, int, int], seed: int, fmt: str = "PNG") -> bytes:
    """A small photo: a coloured block on a noisy background."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(60, 120, (160, 200, 3), dtype=np.uint8)
    pixels[30:130, 40:160] = colour
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


class ApiClient:
    """The server's API with one account's token: how a test sets up what a page then shows."""

    def __init__(self, server: LiveServer, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=120)
        login = self.http.post("/api/auth/login", data={"username": username, "password": password})
        login.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; its JSON answer (None when empty); an error status raises."""
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def register_product(self, name: str, price: str, photo: bytes) -> uuid.UUID:
        """Register a product from one photo (an admin's client)."""
        files = [("images", ("photo.png", photo, "image/png"))]
        form = {"name": name, "price": price}
        return uuid.UUID(self.call("POST", "/api/products", data=form, files=files)["product_id"])

    def open_session(self, items: dict[uuid.UUID, int]) -> str:
        """A new checkout session whose bill holds the given quantities."""
        session_id = self.call("POST", "/api/sessions")["session_id"]
        self.set_bill(session_id, items)
        return session_id

    def set_bill(self, session_id: str, items: dict[uuid.UUID, int]) -> None:
        """Set a session's bill to exactly these quantities."""
        lines = [{"product_id": str(pid), "quantity": n} for pid, n in items.items()]
        self.call("PUT", f"/api/sessions/{session_id}/billing", json={"items": lines})
