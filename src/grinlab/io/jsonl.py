"""The one JSON-lines writer behind every log grinlab keeps outside a batch folder: the live
frame log (``grinlab live --log``) and the smile gate's event log.

Each record is one line, written whole under a lock and flushed at once, so a killed process keeps
every line up to its last one and a reader never sees half a record from this process. A file
that already holds lines is never truncated silently: ``append=True`` adds to it (the gate's event
log grows across runs), ``overwrite=True`` (the CLI's ``--force``) replaces it, anything else is a
one-line GrinlabError. (``results.jsonl`` of ``grinlab analyze`` is a ``io.sinks.JsonlSink``: it
also prunes unfinished items on ``--resume``.)
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from ..errors import GrinlabError


class JsonlWriter:
    def __init__(self, path: str | os.PathLike, *, append: bool = False, overwrite: bool = False):
        self.path = Path(path)
        if not append and not overwrite and self.path.exists() and self.path.stat().st_size > 0:
            raise GrinlabError(
                f"{self.path} already exists; pass --force to overwrite it or choose another file name"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = self.path.open("a" if append else "w", encoding="utf-8")
        except OSError as exc:
            raise GrinlabError(
                f"{self.path}: cannot write here ({exc.strerror or exc}); choose a file in a writable folder"
            ) from None
        self._lock = threading.Lock()
        self.count = 0

    def write(self, record: dict) -> None:
        """Append one record (a JSON object) as one line; a no-op once closed (a late action
        thread may still report after the camera loop ended)."""
        line = json.dumps(record) + "\n"
        with self._lock:
            if self._f.closed:
                return
            self._f.write(line)
            self._f.flush()
            self.count += 1

    @property
    def closed(self) -> bool:
        return self._f.closed

    def close(self) -> None:
        with self._lock:
            if not self._f.closed:
                self._f.flush()
                os.fsync(self._f.fileno())
                self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
