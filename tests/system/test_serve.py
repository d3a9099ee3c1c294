"""The README's first command: migrate the embedded SQLite database, serve, answer health."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EBRCS = [sys.executable, "-m", "ebrcs"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fresh_data_dir_upgrade_then_serve_answers_health(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBRCS_")}
    env["EBRCS_DATA_DIR"] = str(tmp_path / "var")
    subprocess.run([*EBRCS, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*EBRCS, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not answer within 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["database"] == "ok"
        assert (tmp_path / "var" / "ebrcs.db").exists()
        assert (tmp_path / "var" / "jwt_secret").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
