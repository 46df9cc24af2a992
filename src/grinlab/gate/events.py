"""What the smile gate emits: the event kinds and ``GateEvent``, one frozen record per event.

A GateEvent never changes once made, so the caller, the event log and the actions thread all see
the same values. ``to_dict()`` is its one JSON form: the event log line, the argument of a Python
hook, the body of a webhook and ``GRINLAB_EVENT`` of a command, and the web page's "events".
"""

from __future__ import annotations

from dataclasses import dataclass

EVENT_KINDS = ("opened", "denied", "face_lost")


@dataclass(frozen=True)
class GateEvent:
    """One gate event (the fields of its JSON form, with ``kind`` written as "event").

    kind             one of EVENT_KINDS
    time_ms          the frame's timestamp (stream time, so a video replays the camera's events)
    wall_time        the computer's clock (seconds since the epoch) when the event was made
    frame            the frame index
    track_id         the candidate's track id
    smile_intensity  the candidate's smoothed smile intensity, None when unknown
    held_ms          how long the smile was held ("opened" only)
    box              the candidate's face box (x, y, w, h) in pixels, None when never seen
    reason           why ("denied" and "face_lost")
    snapshot         path of the annotated JPEG the event log saved, None when it saved none
    """

    kind: str
    time_ms: float
    wall_time: float
    frame: int
    track_id: int
    smile_intensity: float | None = None
    held_ms: float | None = None
    box: tuple[float, float, float, float] | None = None
    reason: str | None = None
    snapshot: str | None = None

    def __post_init__(self):
        if self.box is not None and not isinstance(self.box, tuple):
            object.__setattr__(self, "box", tuple(self.box))

    def to_dict(self) -> dict:
        """A new dict in the event log's schema; "snapshot" only when a snapshot was saved."""
        d = {
            "event": self.kind,
            "time_ms": self.time_ms,
            "wall_time": self.wall_time,
            "frame": self.frame,
            "track_id": self.track_id,
            "smile_intensity": self.smile_intensity,
            "held_ms": self.held_ms,
            "box": None if self.box is None else list(self.box),
            "reason": self.reason,
        }
        if self.snapshot is not None:
            d["snapshot"] = self.snapshot
        return d
