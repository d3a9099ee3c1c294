"""What the server benchmarks share: synthetic photos and `ebrcs serve` in a subprocess."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

PASSWORD = "bench-password-123"
"""The password of every account a benchmark creates."""


def photo(seed: int) -> bytes:
    """A distinct synthetic product photo."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize((224, 224), Image.Resampling.NEAREST).save(buffer, "JPEG")
    return buffer.getvalue()


class Server:
    """``ebrcs serve`` in a subprocess on a free port, with ``env`` over this process's."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "ebrcs", "serve", "--port", str(port)]
        command += ["--workers", str(workers)]
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, env=os.environ | env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/health", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited; see {log}") from None
                time.sleep(0.3)
        self.process.kill()
        self.process.wait()
        self._log.close()
        raise RuntimeError(f"server did not start; see {log}")

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        self.process.wait(timeout=60)
        self._log.close()
