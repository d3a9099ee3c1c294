"""A process that starts an adapter fit and hangs half-way through it (for the crash test).

Usage: ``python adapter_fit_worker.py DATABASE_URL DATA_DIR``; prints ``fitting`` once it holds
the fit lock and has embedded its first views, then waits until it is killed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from catalog_fixtures import ColourEmbedder

from ebrcs.catalog import adapting
from ebrcs.config import Settings
from ebrcs.db.engine import session_factory


class HangingEmbedder(ColourEmbedder):
    """The colour embedder, announcing its second call and then never returning."""

    calls = 0

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.calls += 1
        if self.calls == 2:
            sys.stdout.write("fitting\n")
            sys.stdout.flush()
            threading.Event().wait()
        return super().embed(images)


def main() -> None:
    """Take the fit lock and fit until killed."""
    url, data_dir = sys.argv[1], Path(sys.argv[2])
    settings = Settings(data_dir=data_dir, database_url=url, jwt_secret="crash-test")
    sessions = session_factory(settings)
    with adapting.fit_lock(settings=settings, sessions=sessions) as mine:
        if not mine:
            raise SystemExit("the fit lock is held elsewhere")
        adapting.fit_and_store(sessions=sessions, settings=settings, embedder=HangingEmbedder())


if __name__ == "__main__":
    main()
