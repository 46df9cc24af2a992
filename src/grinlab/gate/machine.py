"""The smile gate's state machine: ``SmileGate`` follows the candidate (the largest face at least
``min_face_px``) frame by frame and turns held smiles, long waits and departures into
``GateEvent`` records, timed by the frames' own timestamps. It hands each event to the event log
(with a snapshot) and to the actions; how the gate behaves is described in ``grinlab.gate``."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..results import FaceResult, FrameResult
from .config import GateOptions
from .events import GateEvent

if TYPE_CHECKING:
    from ..io.event_log import EventLog
    from .actions import GateActions

_EPS_MS = 1e-6  # frame timestamps like i * 1000 / 30 are not exact: 30 frames must count as 1.0 s


@dataclass
class _Candidate:
    track_id: int
    first_ms: float
    last_ms: float
    smile_since_ms: float | None = None
    denied: bool = False
    opened: bool = False
    face: FaceResult | None = None


class SmileGate:
    """The state machine. ``update`` returns this frame's events (GateEvents, already logged and
    handed to the actions)."""

    def __init__(self, options: GateOptions | None = None, log: EventLog | None = None,
                 actions: GateActions | None = None):  # fmt: skip
        self.options = options or GateOptions()
        self.log = log
        self.actions = actions
        self.candidate: _Candidate | None = None
        self.cooldown_until_ms: float | None = None
        self.openings = 0
        self._now = 0.0

    def status(self) -> dict:
        """For overlays and the web page: state (waiting, watching, smiling, open), the candidate,
        hold progress in [0, 1] and cooldown left."""
        o, c, now = self.options, self.candidate, self._now
        cooling = self.cooldown_until_ms is not None and now < self.cooldown_until_ms - _EPS_MS
        held = 0.0 if c is None or c.smile_since_ms is None else now - c.smile_since_ms
        state = (
            "open"
            if cooling
            else "waiting"
            if c is None
            else "smiling"
            if c.smile_since_ms is not None
            else "watching"
        )
        return {
            "state": state,
            "track_id": None if c is None else c.track_id,
            "hold_progress": min(1.0, held / (o.hold_s * 1000)) if o.hold_s > 0 else float(held > 0),
            "cooldown_left_s": max(0.0, (self.cooldown_until_ms - now) / 1000) if cooling else 0.0,
            "openings": self.openings,
        }

    def update(self, result: FrameResult, image=None) -> list[GateEvent]:
        """This frame's events, in order. With an event log, each is written as one line (with an
        annotated snapshot of ``image`` when given); with actions, each is submitted to them."""
        o = self.options
        now = result.timestamp_ms if result.timestamp_ms is not None else result.frame_index * 1000 / 30
        self._now = now
        events = []
        cooling = self.cooldown_until_ms is not None and now < self.cooldown_until_ms - _EPS_MS
        eligible = [
            f for f in result.faces if f.track_id is not None and min(f.box.w, f.box.h) >= o.min_face_px
        ]
        largest = max(eligible, key=lambda f: f.box.area, default=None)
        c = self.candidate
        if c is not None:
            face = next((f for f in eligible if f.track_id == c.track_id), None)
            if face is None and now - c.last_ms >= o.lost_after_s * 1000 - _EPS_MS:
                if not c.opened:
                    events.append(self._event("face_lost", now, result, c, None,
                                              reason=f"not seen for {o.lost_after_s:g} s"))  # fmt: skip
                c = None
            elif face is not None and largest is not face:
                c = None  # someone nearer (larger) stepped in front: start over with them
            # else: briefly unseen (a missed detection); keep the smile timer running
        if c is None and largest is not None:
            c = _Candidate(largest.track_id, now, now)
        self.candidate = c
        face = None if c is None else next((f for f in eligible if f.track_id == c.track_id), None)
        if face is not None:
            c.last_ms, c.face = now, face
            smiling = face.smile_intensity is not None and face.smile_intensity >= o.threshold
            if not smiling or cooling:
                c.smile_since_ms = None
            elif c.smile_since_ms is None:
                c.smile_since_ms = now
            if c.smile_since_ms is not None and now - c.smile_since_ms >= o.hold_s * 1000 - _EPS_MS:
                events.append(self._event("opened", now, result, c, face, held_ms=now - c.smile_since_ms))
                self.openings += 1
                c.opened = True
                c.smile_since_ms = None
                self.cooldown_until_ms = now + o.cooldown_s * 1000
            elif (
                not c.opened
                and not c.denied
                and not cooling
                and now - c.first_ms >= o.deny_after_s * 1000 - _EPS_MS
            ):
                c.denied = True
                events.append(self._event("denied", now, result, c, face,
                                          reason=f"no smile held {o.hold_s:g} s within {o.deny_after_s:g} s"))  # fmt: skip
        for i, e in enumerate(events):
            if self.log is not None:
                snapshot = self.log.save_snapshot(e.frame, e.kind, e.track_id, image, result)
                if snapshot is not None:
                    e = events[i] = replace(e, snapshot=snapshot)
                self.log.write(e.to_dict())
            if self.actions is not None:
                self.actions.submit(e)
        return events

    def _event(self, kind, now, result, c, face, held_ms=None, reason=None) -> GateEvent:
        face = face or c.face
        return GateEvent(
            kind=kind,
            time_ms=round(now, 1),
            wall_time=time.time(),
            frame=result.frame_index,
            track_id=c.track_id,
            smile_intensity=None
            if face is None or face.smile_intensity is None
            else round(face.smile_intensity, 4),
            held_ms=None if held_ms is None else round(held_ms, 1),
            box=None
            if face is None
            else tuple(round(v, 1) for v in (face.box.x, face.box.y, face.box.w, face.box.h)),
            reason=reason,
        )
