"""Live sources behind one API: a camera index, a video file, or an RTSP/HTTP(S) URL (OpenCV).

``open_stream(spec)`` returns a StreamSource; iterate ``frames()`` for Frame objects.

- Cameras and network streams are read by a background thread into a one-frame slot: the newest
  frame wins and frames the consumer had no time for are dropped (counted in ``stats``), so latency
  never grows.
- Video files are read in order, every frame, as fast as the consumer goes (benchmarks, offline
  runs); ``realtime=True`` plays them at their own frame rate through the same dropping slot, as a
  camera would.
- Network streams that drop or stall (no frame for ``stall_timeout_s``) are reopened with
  exponential backoff, up to ``max_retries`` times in a row; then the stream ends with an error.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from ..errors import GrinlabError
from .sources import Frame

log = logging.getLogger(__name__)

URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass
class StreamStats:
    read: int = 0  # frames decoded
    delivered: int = 0  # frames handed to the consumer
    dropped: int = 0  # decoded but replaced by a newer frame before the consumer took them
    reconnects: int = 0
    stalls: int = 0


def describe(spec: str | int) -> tuple[str, str | int]:
    """(kind, target): kind is camera, url or file."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return "camera", int(spec)
    s = str(spec)
    if s.lower().startswith(URL_SCHEMES):
        return "url", s
    return "file", s


class StreamSource:
    def __init__(
        self,
        spec: str | int,
        realtime: bool | None = None,
        max_retries: int = 5,
        stall_timeout_s: float = 5.0,
        backoff_s: float = 0.5,
        max_frames: int | None = None,
    ):
        self.kind, self.target = describe(spec)
        self.name = f"camera {self.target}" if self.kind == "camera" else str(self.target)
        if max_retries < 0 or stall_timeout_s <= 0 or backoff_s <= 0:
            raise GrinlabError("max_retries must be >= 0, stall_timeout_s and backoff_s > 0")
        self.realtime = self.kind != "file" if realtime is None else realtime
        self.max_retries = max_retries
        self.stall_timeout_s = stall_timeout_s
        self.backoff_s = backoff_s
        self.max_frames = max_frames
        self.stats = StreamStats()
        self.error: str | None = None  # why the stream ended early, if it did
        self.fps = 0.0
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._slot: Frame | None = None
        self._ended = False
        self._thread: threading.Thread | None = None
        self._cap = self._open()

    # -- opening ------------------------------------------------------------------------------
    def _open(self) -> cv2.VideoCapture:
        if self.kind == "file" and not Path(self.target).is_file():
            raise GrinlabError(f"{self.target}: no such video file (a camera is a number, e.g. 0)")
        if self.kind == "url":
            ms = int(self.stall_timeout_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, params)
        else:
            cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise GrinlabError(self._cannot_open())
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        if self.fps > 240:  # some drivers report nonsense
            self.fps = 0.0
        return cap

    def _cannot_open(self) -> str:
        if self.kind == "camera":
            devices = sorted(str(p) for p in Path("/dev").glob("video*")) if os.name == "posix" else []
            seen = f"devices here: {', '.join(devices)}" if devices else "no /dev/video* devices here"
            return (
                f"camera {self.target} cannot be opened ({seen}); check the index, that no other "
                "program holds it, and the permission to use it"
            )
        if self.kind == "url":
            return (
                f"{self.target}: cannot open this stream (server down, wrong address, no answer within "
                f"{self.stall_timeout_s:g} s, or a protocol this OpenCV build cannot read)"
            )
        return f"{self.target}: cannot open this video (unsupported codec, corrupt or not a video)"

    # -- reading ------------------------------------------------------------------------------
    def frames(self) -> Iterator[Frame]:
        """Frames until the source ends, ``max_frames`` are delivered or ``close()`` is called.
        After the loop, ``error`` says why a camera or stream ended, if it failed."""
        if self.realtime:
            yield from self._frames_threaded()
        else:
            yield from self._frames_in_order()

    def _frames_in_order(self) -> Iterator[Frame]:
        index = 0
        while not self._stop.is_set() and not self._enough():
            ok, image = self._cap.read()
            if not ok:
                expected = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
                if self.kind == "file" and expected and index < expected - 1:
                    self.error = f"{self.target}: video ended early at frame {index} of {expected}"
                break
            self.stats.read += 1
            self.stats.delivered += 1
            ts = index * 1000.0 / self.fps if self.fps > 0 else self._cap.get(cv2.CAP_PROP_POS_MSEC)
            yield Frame(self.name, index, image, ts)
            index += 1

    def _enough(self) -> bool:
        return self.max_frames is not None and self.stats.delivered >= self.max_frames

    def _frames_threaded(self) -> Iterator[Frame]:
        self._thread = threading.Thread(target=self._reader, name="grinlab-stream", daemon=True)
        self._thread.start()
        last_ts = -1.0
        while not self._enough():
            with self._cond:
                waited = self._cond.wait_for(
                    lambda: self._slot is not None or self._ended, self.stall_timeout_s
                )
                frame, self._slot = self._slot, None
                ended = self._ended
            if frame is None:
                if ended:
                    break
                if not waited:
                    self.stats.stalls += 1
                    log.warning("%s: no frame for %.1f s", self.name, self.stall_timeout_s)
                continue
            if frame.timestamp_ms <= last_ts:  # clocks that do not move between two grabs
                frame = Frame(frame.source, frame.frame_index, frame.image, last_ts + 0.001)
            last_ts = frame.timestamp_ms
            self.stats.delivered += 1
            yield frame

    def _reader(self) -> None:
        start = time.monotonic()
        index = 0
        failures = 0
        try:
            while not self._stop.is_set():
                ok, image = self._cap.read()
                if not ok:
                    if self.kind == "file":
                        break
                    failures += 1
                    if self.kind == "camera" or failures > self.max_retries:
                        self.error = (
                            f"{self.name}: stopped delivering frames"
                            if self.kind == "camera"
                            else f"{self.name}: stream dropped and did not come back after {self.max_retries} retries"
                        )
                        break
                    self._reconnect(failures)
                    continue
                failures = 0
                self.stats.read += 1
                if self.kind == "file" and self.fps > 0:
                    ts = index * 1000.0 / self.fps
                    lag = start + ts / 1000.0 - time.monotonic()
                    if lag > 0:
                        time.sleep(lag)  # play at the file's own pace
                else:
                    ts = (time.monotonic() - start) * 1000.0
                with self._cond:
                    if self._slot is not None:
                        self.stats.dropped += 1
                    self._slot = Frame(self.name, index, image, ts)
                    self._cond.notify()
                index += 1
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _reconnect(self, attempt: int) -> None:
        delay = min(self.backoff_s * 2 ** (attempt - 1), 30.0)
        log.warning("%s: read failed; reconnecting in %.1f s (attempt %d of %d)",
                    self.name, delay, attempt, self.max_retries)  # fmt: skip
        if self._stop.wait(delay):
            return
        self._cap.release()
        try:
            self._cap = self._open()
            self.stats.reconnects += 1
        except GrinlabError as exc:
            log.warning("%s", exc)

    # -- shutdown -----------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.stall_timeout_s + 1.0)
        self._cap.release()

    def __enter__(self) -> StreamSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_stream(spec: str | int, **kwargs) -> StreamSource:
    return StreamSource(spec, **kwargs)
