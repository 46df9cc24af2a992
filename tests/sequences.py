"""Frame-sequence helpers for the live and gate tests: a 640x480 textured canvas with real faces
pasted on it, 30 frames/s timestamps, and synthetic tracked-frame results (``smile_face``,
``frame``) for tests that need no detector. (A module of its own at the top of tests/, on the path
through tests/conftest.py: `from conftest import ...` is ambiguous when several test folders have
a conftest.py.)"""

from __future__ import annotations

import numpy as np

from grinlab.results import FaceBox, FaceResult, FrameResult, Prediction

FPS = 30.0
W, H = 640, 480


def canvas(placements) -> np.ndarray:
    """A 640x480 frame with each (image, x, y) pasted at (x, y) on a textured grey background."""
    rng = np.random.default_rng(0)
    frame = np.full((H, W, 3), 120, np.uint8)
    frame += rng.integers(0, 12, (H, W, 1), dtype=np.uint8)
    for img, x, y in placements:
        x, y = int(x), int(y)
        h, w = min(img.shape[0], H - y), min(img.shape[1], W - x)  # clipped at the right and bottom
        frame[y : y + h, x : x + w] = img[:h, :w]
    return frame


def timestamp(i: int) -> float:
    return i * 1000.0 / FPS


def smile_face(x, y, p, size=100.0) -> FaceResult:
    """A detected face at (x, y) whose smile model says P(smile) = p."""
    probs = {"no_smile": 1 - p, "smile": p}
    pred = Prediction("smile", "smile", max(probs, key=probs.get), max(probs.values()), probs)
    return FaceResult(0, FaceBox(x, y, size, size, 0.9), {"smile": pred}, smile_intensity=p)


def frame(i, *faces) -> FrameResult:
    """Frame ``i`` of a 640x480 stream at 30 frames/s holding ``faces``."""
    return FrameResult("t", i, W, H, tuple(faces), timestamp(i))
