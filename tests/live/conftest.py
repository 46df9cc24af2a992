"""Frame sequences made from real photos: GENKI-4K faces pasted on a 640x480 canvas and moved
frame to frame, with timestamps at 30 frames/s.

The faces are picked, not hand-listed: the first GENKI-4K images (by file number) labelled smile
that the shipped smile model, through the full pipeline, calls smiling with P >= 0.9, and the
first labelled non-smile with P <= 0.1. So a test about tracking or the gate does not depend on
the model's errors, and the picks are the same on every run.
"""

from __future__ import annotations

import cv2
import pytest
from sequences import FPS, H, W, canvas

from grinlab.pipeline import Analyzer

FACE_SCALE = 1.0  # GENKI photos as they are: ~180x190 px, faces ~80-110 px wide


@pytest.fixture(scope="session")
def smile_analyzer(yunet_path):
    with Analyzer(detector="yunet", detector_options={"model_path": str(yunet_path)}, models=("smile",)) as a:
        yield a


@pytest.fixture(scope="session")
def genki_faces(genki_dir, smile_analyzer):
    """{"smile": [img, img], "neutral": [img, img]}: scaled GENKI photos (BGR)."""
    labels = (genki_dir / "labels.txt").read_text().splitlines()
    picked = {"smile": [], "neutral": []}
    for n, line in enumerate(labels, start=1):
        path = genki_dir / "files" / f"file{n:04d}.jpg"
        if not line.strip() or not path.exists():
            continue
        kind = "smile" if line.split()[0] == "1" else "neutral"
        if len(picked[kind]) >= 2:
            if all(len(v) >= 2 for v in picked.values()):
                break
            continue
        img = cv2.imread(str(path))
        img = cv2.resize(img, None, fx=FACE_SCALE, fy=FACE_SCALE, interpolation=cv2.INTER_CUBIC)
        if img.shape[0] > 220 or img.shape[1] > 220:
            continue
        r = smile_analyzer.analyze(img)
        if len(r.faces) != 1:
            continue
        p = r.faces[0].smile_intensity
        if (kind == "smile" and p >= 0.9) or (kind == "neutral" and p <= 0.1):
            picked[kind].append(img)
    assert all(len(v) == 2 for v in picked.values()), "not enough confident GENKI-4K faces"
    return picked


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
