"""The smile gate: a door that opens when the person in front of it holds a smile.

``SmileGate.update(result)`` takes each tracked frame (``FaceTracker`` output: faces with track ids
and smoothed smile intensities) and returns the events of that frame. Time is the frames' own
timestamps, so a recorded video behaves exactly like the live camera it came from.

One person at a time: the candidate is the largest face whose shorter side is at least
``min_face_px``. The door opens when the candidate's smile intensity stays at or above
``threshold`` for ``hold_s`` seconds without a break; then nothing opens for ``cooldown_s``
seconds, and smiling during the cooldown does not count towards the next opening.

Events (each a JSON line in the log, with an annotated snapshot when a frame is given):
  opened     the candidate held a smile for hold_s
  denied     the candidate stood in front of the door for deny_after_s without opening it
             (at most once per person)
  face_lost  the candidate was not seen for lost_after_s before the door opened for them
Actions (command, webhook, Python hook) run for the events listed in ``actions.on`` on a
background thread, so a slow webhook never stalls the camera; their outcome is logged as an
``action`` line.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .errors import GrinlabError
from .results import FaceResult, FrameResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

EVENT_KINDS = ("opened", "denied", "face_lost")
_EPS_MS = 1e-6  # frame timestamps like i * 1000 / 30 are not exact: 30 frames must count as 1.0 s

# The documented defaults, written by `grinlab gate --write-config FILE`; `load_config` reads it.
DEFAULT_CONFIG_TOML = """\
# grinlab smile gate configuration. Every key is optional; the values below are the defaults.

[gate]
# Smoothed smile intensity (0..1; 0.5 = the smile model's decision threshold) that counts as a smile.
threshold = 0.6
# Seconds the smile must be held without a break before the door opens.
hold_s = 1.0
# Faces smaller than this (shorter side, pixels) are ignored: people walking past in the background.
min_face_px = 80
# After an opening, nothing opens for this many seconds; smiles in that time do not count.
cooldown_s = 5.0
# A person in front of the door this long without opening it gets one "denied" event.
deny_after_s = 4.0
# The person is gone (a "face_lost" event) after this many seconds unseen.
lost_after_s = 0.5
# Save an annotated JPEG of the frame with every event next to the log.
snapshots = true

[actions]
# Which events run the actions below.
on = ["opened"]
# A command to run, as a list (no shell) or a string (split like a shell would, still no shell).
# The event is passed as JSON in the environment variable GRINLAB_EVENT.
# command = ["/usr/local/bin/open-door", "--seconds", "3"]
# A URL that receives the event as a JSON POST.
# webhook = "http://127.0.0.1:8080/door"
# A Python function called with the event dict: "package.module:function" or "path/to/file.py:function".
# hook = "my_door:on_event"
# Seconds an action may take before it is abandoned (and logged as failed).
timeout_s = 5.0
"""


@dataclass(frozen=True)
class GateOptions:
    threshold: float = 0.6
    hold_s: float = 1.0
    min_face_px: int = 80
    cooldown_s: float = 5.0
    deny_after_s: float = 4.0
    lost_after_s: float = 0.5
    snapshots: bool = True

    def __post_init__(self):
        if not 0.0 < self.threshold < 1.0:
            raise GrinlabError(f"gate threshold must be between 0 and 1, got {self.threshold}")
        for name in ("hold_s", "cooldown_s", "deny_after_s", "lost_after_s"):
            if getattr(self, name) < 0:
                raise GrinlabError(f"gate {name} must be >= 0 seconds, got {getattr(self, name)}")
        if self.min_face_px < 0:
            raise GrinlabError(f"gate min_face_px must be >= 0, got {self.min_face_px}")


@dataclass(frozen=True)
class ActionOptions:
    on: tuple[str, ...] = ("opened",)
    command: tuple[str, ...] | None = None
    webhook: str | None = None
    hook: str | None = None
    timeout_s: float = 5.0

    def __post_init__(self):
        if isinstance(self.on, str) or not all(isinstance(e, str) for e in self.on):
            raise GrinlabError(f"actions.on must be a list of event names, got {self.on!r}")
        for name in ("webhook", "hook"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise GrinlabError(f"actions.{name} must be a string, got {getattr(self, name)!r}")
        if self.command is not None and not isinstance(self.command, str):
            if not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in self.command):
                raise GrinlabError(
                    f"actions.command must be a string or a list of words, got {self.command!r}"
                )
        object.__setattr__(self, "on", tuple(self.on))
        bad = [e for e in self.on if e not in EVENT_KINDS]
        if bad:
            raise GrinlabError(f"actions.on: unknown event {bad[0]!r}; events are {', '.join(EVENT_KINDS)}")
        if isinstance(self.command, str):
            try:
                object.__setattr__(self, "command", tuple(shlex.split(self.command)))
            except ValueError as exc:  # an unclosed quote
                raise GrinlabError(f"actions.command: {exc} in {self.command!r}") from None
        elif self.command is not None:
            object.__setattr__(self, "command", tuple(str(c) for c in self.command))
        if self.command is not None and not self.command:
            raise GrinlabError("actions.command is empty; give a program and its arguments")
        if self.webhook is not None and not self.webhook.lower().startswith(("http://", "https://")):
            raise GrinlabError(f"actions.webhook must be an http:// or https:// URL, got {self.webhook!r}")
        if self.hook is not None and ":" not in self.hook:
            raise GrinlabError(
                f"actions.hook must look like 'module:function' or 'file.py:function', got {self.hook!r}"
            )
        if self.timeout_s <= 0:
            raise GrinlabError(f"actions.timeout_s must be > 0, got {self.timeout_s}")


@dataclass(frozen=True)
class GateConfig:
    gate: GateOptions = field(default_factory=GateOptions)
    actions: ActionOptions = field(default_factory=ActionOptions)


def load_config(path: str | Path | None) -> GateConfig:
    """A GateConfig from a TOML file (None = the defaults); unknown keys are errors, not ignored."""
    if path is None:
        return GateConfig()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GrinlabError(
            f"{path}: no such config file (write one with `grinlab gate --write-config {path}`)"
        ) from None
    return parse_config(raw, str(path))


def parse_config(raw: bytes, path: str = "gate config") -> GateConfig:
    """A GateConfig from TOML bytes (``path`` names them in errors)."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GrinlabError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"gate", "actions"}
    if unknown:
        raise GrinlabError(
            f"{path}: unknown section [{sorted(unknown)[0]}]; sections are [gate] and [actions]"
        )
    parts = {}
    for section, cls in (("gate", GateOptions), ("actions", ActionOptions)):
        values = data.get(section, {})
        known = {f.name for f in fields(cls)}
        bad = sorted(set(values) - known)
        if bad:
            raise GrinlabError(
                f"{path}: unknown key {bad[0]!r} in [{section}]; known: {', '.join(sorted(known))}"
            )
        defaults = cls()
        for key, value in values.items():
            default = getattr(defaults, key)
            if isinstance(default, bool) and not isinstance(value, bool):
                raise GrinlabError(f"{path}: [{section}] {key} must be true or false, got {value!r}")
            if (
                isinstance(default, (int, float))
                and not isinstance(default, bool)
                and (isinstance(value, bool) or not isinstance(value, (int, float)))
            ):
                raise GrinlabError(f"{path}: [{section}] {key} must be a number, got {value!r}")
        try:
            parts[section] = cls(**values)
        except (TypeError, GrinlabError) as exc:
            raise GrinlabError(f"{path}: [{section}]: {exc}") from None
    return GateConfig(**parts)


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
    """The state machine. ``update`` returns this frame's events (dicts, already logged)."""

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

    def update(self, result: FrameResult, image=None) -> list[dict]:
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
        for e in events:
            if self.log is not None:
                self.log.write(e, image, result)
            if self.actions is not None:
                self.actions.submit(e)
        return events

    def _event(self, kind, now, result, c, face, held_ms=None, reason=None) -> dict:
        face = face or c.face
        return {
            "event": kind,
            "time_ms": round(now, 1),
            "wall_time": time.time(),
            "frame": result.frame_index,
            "track_id": c.track_id,
            "smile_intensity": None
            if face is None or face.smile_intensity is None
            else round(face.smile_intensity, 4),
            "held_ms": None if held_ms is None else round(held_ms, 1),
            "box": None
            if face is None
            else [round(v, 1) for v in (face.box.x, face.box.y, face.box.w, face.box.h)],
            "reason": reason,
        }


class EventLog:
    """Append-only JSONL event log, flushed per line, with optional snapshots beside it."""

    def __init__(self, path: str | Path, snapshots: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.snapshot_dir = self.path.parent / (self.path.stem + "_snapshots") if snapshots else None
        self._f = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self.count = 0

    def write(self, record: dict, image=None, result: FrameResult | None = None) -> None:
        if self.snapshot_dir is not None and image is not None and "event" in record:
            import cv2

            from .io.drawing import draw_frame

            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            name = f"{record['frame']:06d}_{record['event']}_{record['track_id']}.jpg"
            out = draw_frame(image, result) if result is not None else image
            if cv2.imwrite(str(self.snapshot_dir / name), out):
                record["snapshot"] = str(self.snapshot_dir / name)
        with self._lock:
            if self._f.closed:
                return
            self._f.write(json.dumps(record) + "\n")
            self._f.flush()
            self.count += 1

    def close(self) -> None:
        with self._lock:
            if not self._f.closed:
                self._f.flush()
                os.fsync(self._f.fileno())
                self._f.close()


class GateActions:
    """Runs the configured actions for each event on one background thread, in order."""

    def __init__(self, options: ActionOptions, log: EventLog | None = None):
        self.options = options
        self.log = log
        self._hook = _load_hook(options.hook) if options.hook else None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grinlab-gate-action")
        self._pending = []

    @property
    def any(self) -> bool:
        o = self.options
        return bool(o.command or o.webhook or self._hook)

    def submit(self, event: dict) -> None:
        if event["event"] in self.options.on and self.any:
            self._pending.append(self._pool.submit(self._run_all, dict(event)))

    def _run_all(self, event: dict) -> None:
        o = self.options
        if o.command:
            self._record(event, "command", self._run_command, event)
        if o.webhook:
            self._record(event, "webhook", self._post, event)
        if self._hook:
            self._record(event, "hook", self._hook, event)

    def _record(self, event, name, fn, arg) -> None:
        t0 = time.perf_counter()
        try:
            detail = fn(arg)
            ok = True
            if not isinstance(detail, (str, int, float, bool, type(None))):
                detail = repr(detail)[:200]
        except Exception as exc:  # an action's failure is logged, never fatal to the gate
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        record = {"event": "action", "action": name, "for": event["event"], "frame": event["frame"],
                  "ok": ok, "detail": detail, "ms": round((time.perf_counter() - t0) * 1e3, 1)}  # fmt: skip
        if not ok:
            log.warning("gate action %s failed: %s", name, detail)
        if self.log is not None:
            self.log.write(record)

    def _run_command(self, event: dict):
        env = dict(os.environ, GRINLAB_EVENT=json.dumps(event))
        done = subprocess.run(list(self.options.command), env=env, timeout=self.options.timeout_s,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"exit code {done.returncode}: {done.stderr.strip()[:200]}")
        return f"exit code 0{': ' + done.stdout.strip()[:200] if done.stdout.strip() else ''}"

    def _post(self, event: dict):
        req = urllib.request.Request(self.options.webhook, data=json.dumps(event).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
        with urllib.request.urlopen(req, timeout=self.options.timeout_s) as resp:
            return f"HTTP {resp.status}"

    def close(self, timeout_s: float | None = None) -> None:
        """Wait for actions still running (up to their timeout each), then stop the thread."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.options.timeout_s * 2)
        for fut in self._pending:
            try:
                fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # timed out: logged as pending below
                log.warning("a gate action was still running at shutdown")
        self._pool.shutdown(wait=False, cancel_futures=True)


def _load_hook(spec: str):
    target, _, func = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise GrinlabError(f"actions.hook: no such file {path}")
            mod_spec = importlib.util.spec_from_file_location(f"grinlab_hook_{path.stem}", path)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except GrinlabError:
        raise
    except Exception as exc:
        raise GrinlabError(f"actions.hook: cannot import {target!r}: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise GrinlabError(f"actions.hook: {target!r} has no function {func!r}")
    return fn


def gate_config_dict(config: GateConfig) -> dict:
    return {"gate": asdict(config.gate), "actions": asdict(config.actions)}
