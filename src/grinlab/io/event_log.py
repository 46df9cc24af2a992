"""The smile gate's event log: one JSON line per event and per action outcome, appended through
``io.jsonl.JsonlWriter`` (the log grows across runs), and annotated snapshots of the event frames
in ``<log stem>_snapshots/`` beside it, named ``<frame:06d>_<event>_<track id>.jpg``.

It writes plain dicts and knows nothing of the gate's state; ``grinlab.gate`` turns its events
into lines (``GateEvent.to_dict()``).
"""

from __future__ import annotations

import os

from ..results import FrameResult
from .jsonl import JsonlWriter


class EventLog:
    """Append-only JSONL event log, flushed per line, with optional snapshots beside it."""

    def __init__(self, path: str | os.PathLike, snapshots: bool = True):
        self._writer = JsonlWriter(path, append=True)
        self.path = self._writer.path
        self.snapshot_dir = self.path.parent / (self.path.stem + "_snapshots") if snapshots else None

    @property
    def count(self) -> int:
        """Lines written so far by this process."""
        return self._writer.count

    def save_snapshot(
        self, frame: int, event: str, track_id, image, result: FrameResult | None = None
    ) -> str | None:
        """Save ``image`` (annotated with ``result`` when given) for an event; its path, or None
        when snapshots are off, there is no image, or the JPEG could not be written."""
        if self.snapshot_dir is None or image is None:
            return None
        import cv2

        from .drawing import draw_frame

        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.snapshot_dir / f"{frame:06d}_{event}_{track_id}.jpg"
        out = draw_frame(image, result) if result is not None else image
        return str(path) if cv2.imwrite(str(path), out) else None

    def write(self, record: dict) -> None:
        """One line; a no-op once closed (a late action thread may still report)."""
        self._writer.write(record)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
