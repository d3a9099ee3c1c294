"""Real server processes for tests: uvicorn on a free loopback port, stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

START_SECONDS = 120


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    """One ``uvicorn ebrcs.app:create_app`` process and where it answers."""

    url: str
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def ws_url(self) -> str:
        """The WebSocket base URL."""
        return "ws" + self.url.removeprefix("http")

    def log_tail(self) -> str:
        """The end of the server's log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop gracefully (and wait, so no process outlives the tests)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn_server(*, env: dict[str, str], log_path: Path) -> ServerProcess:
    """Start a server with ``EBRCS_*`` settings from ``env`` and wait until health answers."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EBRCS_")} | env
    command = [sys.executable, "-m", "uvicorn", "ebrcs.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = open(log_path, "wb")  # noqa: SIM115 - the process writes it until it ends
    process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}", log_path, process)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server did not answer within {START_SECONDS} s: {server.log_tail()}")
