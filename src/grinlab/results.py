"""Result types: frozen dataclasses, one object per face, JSON-ready via ``to_dict``.

Coordinates are pixels in the input image: x to the right, y down, origin top-left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FaceBox:
    """A detected face: box (x, y, w, h) in pixels, detector score in [0, 1], and optional
    landmarks as ((x, y), ...) in the order right eye, left eye, nose tip, right mouth corner,
    left mouth corner (YuNet's order; "right" is the subject's right, the viewer's left)."""

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0
    landmarks: tuple[tuple[float, float], ...] | None = None

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: FaceBox) -> float:
        x1, y1 = max(self.x, other.x), max(self.y, other.y)
        x2 = min(self.x + self.w, other.x + other.w)
        y2 = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict:
        return asdict(self)
