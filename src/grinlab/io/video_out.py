"""The one video writer: annotated video from ``analyze``, ``live`` and a Ray worker's part.

OpenCV's VideoWriter fails silently (``isOpened()`` is False and every ``write`` is a no-op) when
the build has no encoder for the codec or the folder is not writable; this opens it on the first
frame (whose size fixes the video's), checks it, and writes to ``NAME.part.EXT`` until ``close``
renames the finished file into place, so a killed run never leaves a truncated video under the
final name.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import GrinlabError


class VideoOut:
    def __init__(self, path: str | os.PathLike, fps: float, fourcc: str = "mp4v", what_to_do: str = ""):
        self.path = Path(path)
        self.fps = fps if fps and fps > 0 else 30.0
        self.fourcc = fourcc
        self.what_to_do = what_to_do or "use a .mp4 or .avi name in a writable folder"
        self.part = self.path.with_name(self.path.stem + ".part" + self.path.suffix)
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.part.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(
                str(self.part), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h)
            )
            if not self._writer.isOpened():
                self._writer = None
                raise GrinlabError(
                    f"{self.path}: OpenCV cannot write {self.fourcc} video here (no encoder in this build, "
                    f"or the folder is not writable); {self.what_to_do}"
                )
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        """Finish the file and move it to its name (nothing happens when no frame came)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            os.replace(self.part, self.path)

    def __enter__(self) -> VideoOut:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
