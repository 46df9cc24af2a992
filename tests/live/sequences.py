"""Frame-sequence helpers for the live tests: a 640x480 textured canvas with real faces pasted on
it, and 30 frames/s timestamps. (A module of its own: `from conftest import ...` is ambiguous
when several test folders have a conftest.py.)"""

from __future__ import annotations

import numpy as np

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
