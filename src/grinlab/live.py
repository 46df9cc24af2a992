"""Live mode: frames from a StreamSource -> a Session (detect or follow, classify, track and smooth,
smile gate) -> overlay, window, video and JSONL log, with per-frame latency.

``run_live`` is the loop around ``Session.process`` with clean shutdown: Ctrl-C, a closed window or
the end of the source stop it, and every sink is flushed and closed on the way out. The per-frame
work itself is the Session's (grinlab.session), the same code ``analyze`` runs on a video file and
the web page's WebSocket runs on browser frames.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import GrinlabError
from .io.jsonl import JsonlWriter
from .io.video_out import VideoOut
from .session import Session

log = logging.getLogger(__name__)


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


def run_live(
    stream,
    session: Session,
    log_path: str | Path | None = None,
    video_path: str | Path | None = None,
    show: bool = False,
    on_frame=None,
    overwrite: bool = False,
) -> LiveSummary:
    """Run until the stream ends or is interrupted. ``on_frame(image, result, annotated)`` is
    called per frame (annotated is None when nothing needs drawing). ``log_path``: one JSON line
    per frame (the FrameResult plus fps, dropped frames and the gate state), never overwriting an
    existing log unless ``overwrite``."""
    from .io.drawing import draw_live

    if show and not has_gui():
        raise GrinlabError(NO_GUI_HELP)
    summary = LiveSummary(stream.name)
    frame_log = JsonlWriter(log_path, overwrite=overwrite) if log_path else None
    video = VideoOut(video_path, stream.fps) if video_path else None
    recent = deque(maxlen=30)  # frame end times, for the fps shown on screen
    start = time.perf_counter()
    try:
        for frame in stream.frames():
            t0 = time.perf_counter()
            result = session.process(frame.image, frame.timestamp_ms, frame.frame_index, stream.name)
            summary.events.extend(session.events)
            t1 = time.perf_counter()
            recent.append(t1)
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            summary.frames += 1
            summary.latencies_ms.append((t1 - t0) * 1e3)
            status = session.gate_status()
            annotated = None
            if show or video_path or on_frame is not None:
                annotated = draw_live(frame.image, result, fps=fps, gate=status)
            if video is not None:
                video.write(annotated)
            if frame_log is not None:
                row = result.to_dict()
                row.update(fps=round(fps, 2), dropped=stream.stats.dropped, gate=status)
                frame_log.write(row)
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
        if video is not None:
            video.close()
        if show:
            cv2.destroyAllWindows()
    return summary
