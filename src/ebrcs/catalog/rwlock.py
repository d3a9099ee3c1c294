"""A writer-preferring readers-writer lock for threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    """Any number of readers at once, or one writer alone; a waiting writer goes first.

    Thread-based on purpose: FAISS releases the GIL while it searches, so reader threads run
    truly in parallel, and callers in worker threads need no event loop. Not re-entrant: a
    thread holding the read side must not ask for it again while a writer may be waiting.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the lock shared with other readers."""
        with self._condition:
            # Writer preference: new readers queue behind a waiting writer so additions
            # never starve under a steady stream of searches.
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if self._readers == 0:
                    self._condition.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the lock exclusively."""
        with self._condition:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._condition.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
