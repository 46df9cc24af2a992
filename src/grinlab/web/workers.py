"""How much the server analyses at once: ``WorkerSlots`` (uploads and live frames share them) and
``SessionCount`` (open live connections), both checked without blocking the event loop."""

from __future__ import annotations

import threading
from contextlib import contextmanager


class Busy(Exception):
    """No worker became free within the queue timeout (the client gets 503 / an error reply)."""


class WorkerSlots:
    """At most ``size`` analyses at once, over the server's one Analyzer."""

    def __init__(self, size: int):
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.busy = 0

    @contextmanager
    def slot(self, timeout_s: float):
        if not self._free.acquire(timeout=timeout_s):
            raise Busy
        with self._lock:
            self.busy += 1
        try:
            yield
        finally:
            with self._lock:
                self.busy -= 1
            self._free.release()


class SessionCount:
    """Open live connections, against a limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self.open = 0

    def enter(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.open -= 1
