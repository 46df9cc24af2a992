"""Face crops for classification: pure functions (numpy + OpenCV), shared by training and runtime.

``crop_face`` cuts a square around the detector box centre, enlarged by ``margin`` and, when the box has
landmarks, rotated so that the eyes are level. One warpAffine does crop, rotation and resize;
parts outside the image are filled by replicating the border.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .results import FaceBox

DEFAULT_MARGIN = 0.2


def eye_angle(landmarks) -> float:
    """Angle in degrees of the line from the subject's right eye (landmark 0, on the viewer's
    left) to the left eye (landmark 1); positive when the face is tilted clockwise on screen."""
    (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_matrix(
    box: FaceBox, margin: float = DEFAULT_MARGIN, size: int | None = None, level_eyes: bool = True
):
    """2x3 affine matrix mapping image pixels to crop pixels, and the crop's side length.

    The crop is a square of side ``w * (1 + margin)`` centred on the box centre, rotated by the eye
    angle when the box has landmarks, scaled to ``size`` when given. The box *width* sets the scale
    because YuNet boxes are taller than Haar's for the same face (forehead to chin) while their
    widths agree within a few percent (astronaut.png: 90 vs 93 px), so both give the same framing."""
    side = max(1.0, box.w) * (1.0 + margin)
    out = int(size) if size else max(1, int(round(side)))
    cx, cy = box.x + box.w / 2.0, box.y + box.h / 2.0
    angle = eye_angle(box.landmarks) if (level_eyes and box.landmarks) else 0.0
    m = cv2.getRotationMatrix2D((cx, cy), angle, out / side)
    m[0, 2] += out / 2.0 - cx
    m[1, 2] += out / 2.0 - cy
    return m, out


def crop_face(
    image: np.ndarray,
    box: FaceBox,
    margin: float = DEFAULT_MARGIN,
    size: int | None = None,
    level_eyes: bool = True,
) -> np.ndarray:
    """The face in ``box`` as a square uint8 crop (same channels as ``image``)."""
    m, out = crop_matrix(box, margin, size, level_eyes)
    interp = cv2.INTER_AREA if out < box.w else cv2.INTER_LINEAR
    return cv2.warpAffine(image, m, (out, out), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def transform_points(m: np.ndarray, points) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]
