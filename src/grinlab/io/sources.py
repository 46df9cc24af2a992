"""Input enumeration: files, folders (recursive) and video files, as a stream of work items.

Nothing here modifies an input. A failure on one item becomes an item with ``error`` set, so a
batch goes on past bad files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import GrinlabError
from .images import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, read_image

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


@dataclass(frozen=True)
class Frame:
    """One image to analyse, or the error that kept us from reading it."""

    source: str
    frame_index: int
    image: np.ndarray | None
    timestamp_ms: float | None = None
    error: str | None = None


def kind_of(path: Path) -> str:
    s = path.suffix.lower()
    return "video" if s in VIDEO_SUFFIXES else "image" if s in IMAGE_SUFFIXES else "other"


def expand_inputs(paths: list[str | Path]) -> list[Path]:
    """Files as given, folders searched recursively for images and videos (sorted), each file once
    (a photo given twice, or inside a folder also given, is analysed once). A missing path or a
    folder with nothing to analyse raises GrinlabError."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and kind_of(f) != "other")
            if not found:
                raise GrinlabError(
                    f"{p}: no images or videos found (looked for {', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})"
                )
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise GrinlabError(f"{p}: no such file or folder")
    return list(dict.fromkeys(out))


def iter_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[Frame]:
    try:
        yield Frame(str(path), 0, read_image(path, max_pixels))
    except GrinlabError as exc:
        yield Frame(str(path), 0, None, error=str(exc))


def video_info(path: Path) -> dict:
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise GrinlabError(f"{path}: cannot open this video (unsupported codec, corrupt or not a video)")
        return {
            "fps": cap.get(cv2.CAP_PROP_FPS) or 0.0,
            "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        }
    finally:
        cap.release()


def iter_video(
    path: Path,
    every: int = 1,
    start_frame: int = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    stop_frame: int | None = None,
) -> Iterator[Frame]:
    """Every ``every``-th frame (by absolute index) of frames [start_frame, stop_frame); timestamps from the frame index and the
    container's fps (falling back to the decoder's position when fps is unknown), always strictly
    increasing. A video that
    cannot be opened, or whose frames are over ``max_pixels`` by its header, yields one error frame
    and no frame is decoded; one that ends early yields an error frame at the end."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        yield Frame(
            str(path),
            0,
            None,
            error=f"{path}: cannot open this video (unsupported codec, corrupt or not a video)",
        )
        return
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    if w * h > max_pixels:
        cap.release()
        yield Frame(str(path), 0, None, error=f"{path}: {w}x{h} frames are over the limit of {max_pixels:,} "
                    "pixels; raise --max-pixels if you trust this file")  # fmt: skip
        return
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        index, last_ts = 0, None
        if start_frame > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start_frame)
            index = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
        while stop_frame is None or index < stop_frame:  # frames [start_frame, stop_frame)
            if (index % every) == 0:
                ok, image = cap.read()
            else:
                ok = cap.grab()  # skip without decoding
                image = None
            if not ok:
                break
            if image is not None:
                ts = index * 1000.0 / fps if fps > 0 else cap.get(cv2.CAP_PROP_POS_MSEC)
                if last_ts is not None and ts <= last_ts:  # a container without fps or positions:
                    ts = last_ts + 1000.0 / 30  # keep time moving forward, as the tracker needs
                last_ts = ts
                yield Frame(str(path), index, image, ts)
            index += 1
        if expected and index < min(expected, stop_frame or expected) - 1:
            yield Frame(
                str(path), index, None,
                error=f"{path}: video ended early at frame {index} of {expected} (truncated or corrupt)",
            )  # fmt: skip
    finally:
        cap.release()
