"""The detector contract: one Protocol, shared options, shared NMS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from ..colour import to_bgr as as_bgr  # noqa: F401  (the names haar and yunet import)
from ..colour import to_grey as as_grey  # noqa: F401
from ..errors import GrinlabError
from ..results import FaceBox


@runtime_checkable
class FaceDetector(Protocol):
    """``detect(image)`` takes uint8 BGR (H, W, 3), grey (H, W) or BGRA and returns every face as
    a FaceBox in that image's pixel coordinates, sorted by score, highest first."""

    options: DetectorOptions

    def detect(self, image: np.ndarray) -> list[FaceBox]: ...


@dataclass(frozen=True)
class DetectorOptions:
    """Options every detector takes; invalid values raise GrinlabError at creation.

    score_threshold: drop faces scoring below this (0..1).
    min_face_size: drop faces whose shorter side is below this many pixels (in the input image).
        Detectors that can (YuNet) look at each image at the lowest resolution that still finds
        faces this small, so raising it also makes detection faster.
    nms_iou: overlapping boxes above this IoU are merged (highest score kept).
    max_faces: keep at most this many (None = all).
    detect_width: never detect on a copy wider than this, for speed; boxes are mapped back to the
        input image (None = no cap). 800 rather than 640: on the Solvay 1927 group photo (faces
        ~25 px at 1024 wide) Haar finds 13 of 29 faces at 640, 22 at 800, 27 at full size. YuNet
        also shrinks each image until faces of ``min_face_size`` reach the smallest size it finds
        reliably (``yunet.SMALLEST_RELIABLE_PX``), so it usually detects on a smaller copy still.
    """

    score_threshold: float = 0.5
    min_face_size: int = 20
    nms_iou: float = 0.3
    max_faces: int | None = None
    detect_width: int | None = 800

    def __post_init__(self):
        if not 0.0 <= self.score_threshold <= 1.0:
            raise GrinlabError(f"score_threshold must be in [0, 1], got {self.score_threshold}")
        if self.min_face_size < 1:
            raise GrinlabError(f"min_face_size must be at least 1 pixel, got {self.min_face_size}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise GrinlabError(f"nms_iou must be in (0, 1], got {self.nms_iou}")
        if self.max_faces is not None and self.max_faces < 1:
            raise GrinlabError(f"max_faces must be at least 1, got {self.max_faces}")
        if self.detect_width is not None and self.detect_width < 64:
            raise GrinlabError(f"detect_width must be at least 64 pixels, got {self.detect_width}")


def downscale(image: np.ndarray, width: int | None) -> tuple[np.ndarray, float]:
    """(image resized to at most ``width`` wide, factor to map boxes back to the input)."""
    w = image.shape[1]
    if width is None or w <= width:
        return image, 1.0
    scale = w / width
    h = int(round(image.shape[0] / scale))
    return cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA), scale


def nms(boxes: list[FaceBox], iou: float) -> list[FaceBox]:
    """Greedy non-maximum suppression; returns boxes sorted by score, highest first, ties top to
    bottom then left to right: detectors hand equal scores over in an order that can change from
    run to run (Haar's parallel scan), and face indices must not."""
    kept: list[FaceBox] = []
    for b in sorted(boxes, key=lambda b: (-b.score, b.y, b.x, b.w, b.h)):
        if all(b.iou(k) <= iou for k in kept):
            kept.append(b)
    return kept


def finish(boxes: list[FaceBox], options: DetectorOptions, shape: tuple[int, ...]) -> list[FaceBox]:
    """Clip to the image, filter by score and size, NMS, cap the count."""
    h, w = shape[:2]
    out = []
    for b in boxes:
        x0, y0 = max(0.0, b.x), max(0.0, b.y)
        x1, y1 = min(float(w), b.x + b.w), min(float(h), b.y + b.h)
        if x1 <= x0 or y1 <= y0:
            continue
        b = FaceBox(x0, y0, x1 - x0, y1 - y0, b.score, b.landmarks)
        if b.score >= options.score_threshold and min(b.w, b.h) >= options.min_face_size:
            out.append(b)
    out = nms(out, options.nms_iou)
    return out[: options.max_faces] if options.max_faces else out
