"""The frames both sides of the speed benchmark read: real photos letterboxed to 640x480 and
encoded as JPEG (so decoding is part of the measured work), plus the Solvay photo as it is.
Shared by analyze_speed.py (grinlab) and peer_fer.py (the `fer` package, in its own venv), so it
needs only numpy and OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# (photos under test-photos, annotated faces): 1-5 faces per 640x480 frame. Two photos in one
# entry share the frame side by side (the dlib set has no photo with 4 or 5 faces).
FRAME_PHOTOS = [
    (("astronaut.png",), 1),
    (("white_house/obama.jpg",), 1),
    (("white_house/biden.jpg",), 1),
    (("dlib_faces/2009_004587.jpg",), 2),
    (("dlib_faces/2008_001009.jpg",), 2),
    (("dlib_faces/2008_001322.jpg",), 3),
    (("dlib_faces/2008_002506.jpg",), 3),
    (("dlib_faces/2009_004587.jpg", "dlib_faces/2008_001009.jpg"), 4),
    (("dlib_faces/2008_001322.jpg", "dlib_faces/2009_004587.jpg"), 5),
]
SOLVAY = "solvay_1927/Solvay_conference_1927.jpg"


def letterbox(image: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    h, w = image.shape[:2]
    s = min(width / w, height / h)
    nw, nh = int(round(w * s)), int(round(h * s))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    canvas = np.full((height, width, 3), 114, np.uint8)
    y, x = (height - nh) // 2, (width - nw) // 2
    canvas[y : y + nh, x : x + nw] = resized
    return canvas


def frames(photos_dir: Path) -> list[tuple[str, bytes]]:
    """(name, JPEG bytes) of each 640x480 frame."""
    out = []
    for names, _ in FRAME_PHOTOS:
        width = 640 // len(names)
        parts = [letterbox(cv2.imread(str(photos_dir / n), cv2.IMREAD_COLOR), width, 480) for n in names]
        ok, buf = cv2.imencode(".jpg", np.hstack(parts), [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append(("+".join(names), buf.tobytes()))
    return out


def solvay(photos_dir: Path) -> tuple[str, bytes]:
    return SOLVAY, (photos_dir / SOLVAY).read_bytes()
