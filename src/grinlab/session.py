"""Session: the per-stream state of VIDEO and STREAM analysis, over models an Analyzer has loaded.

One session per video file, camera or browser connection: detect-or-follow (``detect_every``),
classify, track and smooth, and optionally the smile gate. It holds only what belongs to one
stream (the tracker's tracks, the face boxes to follow, the gate's state, the last timestamp);
the detector and the classifiers stay in the Analyzer, shared by every session of a process.
That is how ``grinlab analyze`` on a video file, ``live``, ``gate``, the web page's WebSocket and
a Ray worker's video part all run the same code with different sources and sinks.

Timestamps must strictly increase within a session; this module is the one place that checks it.
A session is used by one thread at a time (one stream); many sessions may share an Analyzer
across threads.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .errors import GrinlabError
from .results import FrameResult
from .track import FaceTracker, TrackerOptions, follow_boxes

if TYPE_CHECKING:  # the gate and the analyzer import nothing from here
    from .gate import GateEvent, SmileGate
    from .pipeline import Analyzer


class Session:
    """``process(image, timestamp_ms)`` -> one tracked, smoothed FrameResult per frame.

    detect_every: run the face detector on every N-th frame and follow the faces by template
        matching in between (classification still runs on every frame); 1 = detect every frame.
        Following is cheaper than detecting, but a face entering the picture waits for the next
        detection, at most N - 1 frames.
    tracker: TrackerOptions (ids, smoothing time constant, hysteresis).
    gate: a SmileGate fed every tracked frame; its events of the last frame are ``events``.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        detect_every: int = 1,
        tracker: TrackerOptions | None = None,
        gate: SmileGate | None = None,
    ):
        if detect_every < 1:
            raise GrinlabError(f"detect_every must be at least 1, got {detect_every}")
        self.analyzer = analyzer
        self.detect_every = detect_every
        self.tracker = FaceTracker(tracker)
        self.gate = gate
        self.events: tuple[GateEvent, ...] = ()
        self._previous: np.ndarray | None = None
        self._boxes: list = []
        self._since_detect = 0
        self._last_ts: float | None = None

    def accept(self, timestamp_ms: float) -> None:
        """Check and record a frame's timestamp: the one check of the running modes' time order."""
        try:
            ts = float(timestamp_ms)
        except (TypeError, ValueError):
            raise GrinlabError(
                f"timestamp_ms must be a number of milliseconds, got {timestamp_ms!r}"
            ) from None
        if ts != ts:  # NaN compares false with everything and would pass the order check
            raise GrinlabError("timestamp_ms must be a number of milliseconds, got NaN")
        if self._last_ts is not None and ts <= self._last_ts:
            raise GrinlabError(f"timestamps must increase: got {ts:g} ms after {self._last_ts:g} ms")
        self._last_ts = ts

    def process(
        self, image: np.ndarray, timestamp_ms: float, frame_index: int = 0, source: str = ""
    ) -> FrameResult:
        """One frame: detect (or follow), classify, track and smooth, then the gate."""
        self.accept(timestamp_ms)
        return self.process_accepted(image, float(timestamp_ms), frame_index, source)

    def process_accepted(
        self,
        image: np.ndarray,
        timestamp_ms: float,
        frame_index: int,
        source: str,
        detected: tuple[list, float] | None = None,
    ) -> FrameResult:
        """``process`` for a timestamp ``accept`` has already checked (STREAM mode checks in the
        caller's thread and analyses on its worker). ``detected``: (boxes, detect ms) of this
        frame found ahead on another thread (``grinlab.batch``'s two-stage run, detect_every 1)."""
        analyzer = self.analyzer
        analyzer.check_image(image)
        t0 = time.perf_counter()
        same_size = self._previous is not None and self._previous.shape[:2] == image.shape[:2]
        follow = same_size and self._since_detect < self.detect_every - 1 and bool(self._boxes)
        if follow:
            boxes = follow_boxes(self._previous, image, self._boxes)
            follow = bool(boxes)  # every face lost: detect now rather than wait
        if follow:
            self._since_detect += 1
        elif detected is not None:
            boxes, ahead_ms = detected
            t0 -= ahead_ms / 1e3  # the frame's detect time is the other thread's
            self._since_detect = 0
        else:
            boxes = analyzer.detect(image)
            self._since_detect = 0
        t1 = time.perf_counter()
        result = analyzer.classify_boxes(image, boxes, source, frame_index, timestamp_ms)
        t2 = time.perf_counter()
        result = self.tracker.update(result, analyzer.decisions)
        t3 = time.perf_counter()
        self._previous = image
        self._boxes = [f.box for f in result.faces]
        self.events = tuple(self.gate.update(result, image)) if self.gate is not None else ()
        timings = {
            "detect": 0.0 if follow else (t1 - t0) * 1e3,
            "follow": (t1 - t0) * 1e3 if follow else 0.0,
            "align": result.timings_ms.get("align", 0.0),
            "classify": result.timings_ms.get("classify", 0.0),
            "track": (t3 - t2) * 1e3,
            "total": (t3 - t0) * 1e3,
        }
        return replace(result, timings_ms=timings)

    def gate_status(self) -> dict | None:
        return None if self.gate is None else self.gate.status()

    def reset(self) -> None:
        """Forget the stream (tracks, boxes, time, gate state): the next frame starts afresh."""
        self.tracker.reset()
        if self.gate is not None:  # a fresh state machine with the same options, log and actions
            g = self.gate
            self.gate = type(g)(g.options, log=g.log, actions=g.actions)
        self.events = ()
        self._previous, self._boxes, self._since_detect, self._last_ts = None, [], 0, None
