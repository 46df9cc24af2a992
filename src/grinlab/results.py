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


@dataclass(frozen=True)
class Prediction:
    """One classifier's verdict on one face: the top label, its probability, and all probabilities
    in the model's label order."""

    model: str
    task: str
    label: str
    score: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FaceResult:
    """Everything known about one face in one frame.

    index: position in the frame's face list (sorted by detector score, highest first).
    predictions: model name -> Prediction.
    smile_intensity: in [0, 1] when a smile-capable model ran, else None (see grinlab.intensity).
    track_id: stable id across frames in video/stream modes, else None.
    """

    index: int
    box: FaceBox
    predictions: dict[str, Prediction]
    smile_intensity: float | None = None
    track_id: int | None = None

    def label(self, model: str) -> str | None:
        p = self.predictions.get(model)
        return p.label if p else None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FrameResult:
    """All faces of one image or video frame.

    timestamp_ms: the frame's time in a video or stream (None for still images).
    timings_ms: per-stage wall time for this frame (detect, align, classify, total).
    """

    source: str
    frame_index: int
    width: int
    height: int
    faces: tuple[FaceResult, ...]
    timestamp_ms: float | None = None
    timings_ms: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def frame_from_dict(d: dict) -> FrameResult:
    """A FrameResult back from its ``to_dict()`` / JSON form (a line of results.jsonl)."""
    faces = []
    for f in d.get("faces", ()):
        b = f["box"]
        marks = tuple(tuple(p) for p in b["landmarks"]) if b.get("landmarks") else None
        box = FaceBox(b["x"], b["y"], b["w"], b["h"], b.get("score", 1.0), marks)
        preds = {name: Prediction(**p) for name, p in f.get("predictions", {}).items()}
        faces.append(FaceResult(f["index"], box, preds, f.get("smile_intensity"), f.get("track_id")))
    return FrameResult(d["source"], d.get("frame_index", 0), d.get("width", 0), d.get("height", 0), tuple(faces),
                       d.get("timestamp_ms"), d.get("timings_ms"))  # fmt: skip
