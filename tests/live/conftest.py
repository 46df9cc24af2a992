"""Videos made from real photos for the live tests: GENKI-4K faces (the ``genki_faces`` fixture of
tests/conftest.py) pasted on a 640x480 canvas and moved frame to frame at 30 frames/s."""

from __future__ import annotations

import cv2
import pytest
from sequences import FPS, H, W, canvas


@pytest.fixture(scope="session")
def sequence_video(tmp_path_factory, genki_faces):
    """A 640x480 mp4 of 90 frames: one neutral face drifting right, then the smiling one."""
    path = tmp_path_factory.mktemp("video") / "seq.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for i in range(90):
        face = genki_faces["neutral"][0] if i < 30 else genki_faces["smile"][0]
        writer.write(canvas([(face, 150 + 2 * i, 100)]))
    writer.release()
    return path


@pytest.fixture(scope="session")
def long_video(tmp_path_factory, genki_faces):
    """A 640x480 mp4 of 600 frames (20 s at 30 fps) with one drifting face: long enough that a
    test can interrupt it mid-run even when the process starts slowly on a loaded machine."""
    path = tmp_path_factory.mktemp("video") / "long.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for i in range(600):
        writer.write(canvas([(genki_faces["smile"][0], 150 + (i % 200), 100)]))
    writer.release()
    return path
