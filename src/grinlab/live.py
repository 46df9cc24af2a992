"""Live mode: frames from a StreamSource -> detect (or follow) -> classify -> track and smooth ->
smile gate -> overlay, window, video and JSONL log, with per-frame latency.

``LivePipeline.process`` is the per-frame step (the web page's WebSocket uses it too);
``run_live`` is the loop around it with clean shutdown: Ctrl-C, a closed window or the end of the
source stop it, and every sink is flushed and closed on the way out.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from .errors import GrinlabError
from .gate import SmileGate
from .pipeline import Analyzer
from .results import FrameResult
from .track import FaceTracker, follow_boxes

log = logging.getLogger(__name__)


class LivePipeline:
    """Per-frame work of live mode for one stream.

    detect_every: run the face detector on every N-th frame and follow the faces by template
        matching in between (classification still runs on every frame). 1 = detect every frame.
    """

    def __init__(self, analyzer: Analyzer | None, tracker: FaceTracker | None = None, detect_every: int = 1):
        if detect_every < 1:
            raise GrinlabError(f"detect_every must be at least 1, got {detect_every}")
        self.analyzer = analyzer
        self.tracker = tracker or FaceTracker()
        self.detect_every = detect_every
        self._previous: np.ndarray | None = None
        self._boxes = []
        self._since_detect = 0
        self._last_ts: float | None = None

    def process(self, image: np.ndarray, timestamp_ms: float, frame_index: int = 0, source: str = "",
                analyzer: Analyzer | None = None) -> FrameResult:  # fmt: skip
        """One frame -> tracked, smoothed FrameResult. ``analyzer`` overrides the pipeline's own for
        this frame (the web server lends one from its pool per frame)."""
        analyzer = analyzer or self.analyzer
        if self._last_ts is not None and timestamp_ms <= self._last_ts:
            raise GrinlabError(f"timestamps must increase: got {timestamp_ms} ms after {self._last_ts} ms")
        self._last_ts = timestamp_ms
        t0 = time.perf_counter()
        same_size = self._previous is not None and self._previous.shape[:2] == image.shape[:2]
        follow = same_size and self._since_detect < self.detect_every - 1 and bool(self._boxes)
        if follow:
            boxes = follow_boxes(self._previous, image, self._boxes)
            follow = bool(boxes)  # every face lost: detect now rather than wait
        if follow:
            self._since_detect += 1
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
        timings = {
            "detect": 0.0 if follow else (t1 - t0) * 1e3,
            "follow": (t1 - t0) * 1e3 if follow else 0.0,
            "classify": (t2 - t1) * 1e3,
            "track": (t3 - t2) * 1e3,
            "total": (t3 - t0) * 1e3,
        }
        return replace(result, timings_ms=timings)


@dataclass
class LiveSummary:
    source: str
    frames: int = 0
    dropped: int = 0
    reconnects: int = 0
    seconds: float = 0.0
    latencies_ms: list = field(default_factory=list, repr=False)
    events: list = field(default_factory=list)
    interrupted: bool = False
    error: str | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None

    def to_dict(self) -> dict:
        p50, p99 = self.percentile(50), self.percentile(99)
        return {
            "source": self.source, "frames": self.frames, "dropped": self.dropped,
            "reconnects": self.reconnects, "seconds": round(self.seconds, 3), "fps": round(self.fps, 2),
            "latency_p50_ms": None if p50 is None else round(p50, 2),
            "latency_p99_ms": None if p99 is None else round(p99, 2),
            "events": {k: sum(e.kind == k for e in self.events) for k in ("opened", "denied", "face_lost")},
            "interrupted": self.interrupted, "error": self.error,
        }  # fmt: skip

    def line(self) -> str:
        d = self.to_dict()
        text = (f"{d['frames']} frames in {d['seconds']:.1f} s ({d['fps']:.1f} frames/s), "
                f"latency p50 {d['latency_p50_ms']} ms p99 {d['latency_p99_ms']} ms, {d['dropped']} dropped")  # fmt: skip
        if any(d["events"].values()):
            text += ", gate: " + ", ".join(f"{v} {k}" for k, v in d["events"].items() if v)
        return text


def has_gui() -> bool:
    """Whether this OpenCV build can open windows (opencv-python-headless cannot)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return "NONE" not in line.upper()
    return False


NO_GUI_HELP = (
    "this OpenCV build has no GUI (opencv-python-headless), so --show cannot open a window; "
    "write the annotated stream with --out-video FILE.mp4, or watch it in the browser with `grinlab serve`"
)


class FrameLog:
    """JSONL, one line per frame (the FrameResult plus fps, dropped frames and the gate state),
    flushed every line so a killed run keeps everything up to its last frame."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("w", encoding="utf-8")

    def write(self, result: FrameResult, **extra) -> None:
        row = result.to_dict()
        row.update(extra)
        self._f.write(json.dumps(row) + "\n")
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


def run_live(
    stream,
    pipeline: LivePipeline,
    gate: SmileGate | None = None,
    log_path: str | Path | None = None,
    video_path: str | Path | None = None,
    show: bool = False,
    on_frame=None,
) -> LiveSummary:
    """Run until the stream ends or is interrupted. ``on_frame(image, result, annotated)`` is
    called per frame (annotated is None when nothing needs drawing)."""
    from .io.drawing import draw_live

    if show and not has_gui():
        raise GrinlabError(NO_GUI_HELP)
    summary = LiveSummary(stream.name)
    frame_log = FrameLog(log_path) if log_path else None
    writer = None
    recent = deque(maxlen=30)  # frame end times, for the fps shown on screen
    start = time.perf_counter()
    try:
        for frame in stream.frames():
            t0 = time.perf_counter()
            result = pipeline.process(frame.image, frame.timestamp_ms, frame.frame_index, stream.name)
            events = gate.update(result, frame.image) if gate is not None else []
            summary.events.extend(events)
            t1 = time.perf_counter()
            recent.append(t1)
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            summary.frames += 1
            summary.latencies_ms.append((t1 - t0) * 1e3)
            status = gate.status() if gate is not None else None
            annotated = None
            if show or video_path or on_frame is not None:
                annotated = draw_live(frame.image, result, fps=fps, gate=status)
            if video_path:
                if writer is None:
                    writer = _open_writer(video_path, annotated, stream.fps)
                writer.write(annotated)
            if frame_log is not None:
                frame_log.write(result, fps=round(fps, 2), dropped=stream.stats.dropped, gate=status)
            if on_frame is not None:
                on_frame(frame.image, result, annotated)
            if show:
                cv2.imshow("grinlab live (q to quit)", annotated)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.seconds = time.perf_counter() - start
        stream.close()
        summary.dropped = stream.stats.dropped
        summary.reconnects = stream.stats.reconnects
        summary.error = stream.error
        if frame_log is not None:
            frame_log.close()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    return summary


def _open_writer(path, frame: np.ndarray, fps: float) -> cv2.VideoWriter:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frame.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps if fps > 0 else 30.0, (w, h))
    if not writer.isOpened():
        raise GrinlabError(
            f"{path}: cannot write a video here (use a .mp4 or .avi name in a writable folder)"
        )
    return writer
