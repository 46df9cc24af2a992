"""Face crops for classification: pure functions (numpy + OpenCV), shared by training and runtime.

``crop_face`` cuts a square around the detector box centre, enlarged by ``margin`` and, when the box
has landmarks, rotated about that centre so that the eyes are level. Parts outside the image are
filled by replicating the border (or black with ``border="constant"``). Training (GENKI-4K crops)
and the runtime call this same function, so both see the same framing. ``crop_largest_face`` is
the one "detect, keep the largest face, crop it" step of the tools that want one face per photo
(GENKI-4K's loader, ``grinlab evaluate --pipeline``, ``grinlab visualize --detect``).

Framing is the same for Haar and YuNet boxes. Measured on the faces both find (every 40th GENKI-4K
photo, the White House portraits, astronaut.png; 89 faces with Haar's frontalface_default cascade,
84 with alt2, the default now): YuNet's box is narrower, width ratio YuNet / Haar = 0.85 +- 0.07
(median 0.83 / 0.84), and taller (h / w = 1.31); the box centres agree to within 2% of the width.
So the crop side is measured in Haar widths: a box with landmarks (YuNet's)
counts as ``w / 0.84`` wide before the margin is added.

Levelling is only as good as the landmarks: YuNet (2023mar) follows in-plane head tilt only partly
(astronaut.png rotated by 25 degrees: its eye landmarks say 4 degrees), so strong tilts stay tilted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .errors import GrinlabError
from .results import FaceBox

if TYPE_CHECKING:  # a type only: this module stays free of any detector backend
    from .detect.base import FaceDetector

DEFAULT_MARGIN = 0.2
LANDMARK_BOX_WIDTH_RATIO = 0.84  # YuNet box width / Haar box width for the same face (see above)
_BORDERS = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}


def eye_angle(landmarks: Sequence[Sequence[float]]) -> float:
    """Angle in degrees of the line from the subject's right eye (landmark 0, on the viewer's left)
    to the left eye (landmark 1), in image coordinates (y down): positive when the face is tilted
    clockwise on screen, 0 when the eyes are level."""
    (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def similarity_matrix(
    centre: tuple[float, float], angle: float, scale: float, out_centre: tuple[float, float]
) -> np.ndarray:
    """2x3 matrix that rotates the image by ``angle`` degrees counter-clockwise on screen about
    ``centre``, scales by ``scale`` and moves ``centre`` to ``out_centre``:

        [[ s cos a, s sin a, tx],
         [-s sin a, s cos a, ty]]   with  M @ (cx, cy, 1) = out_centre.
    """
    a = math.radians(angle)
    c, s = scale * math.cos(a), scale * math.sin(a)
    cx, cy = centre
    return np.array([[c, s, out_centre[0] - c * cx - s * cy], [-s, c, out_centre[1] + s * cx - c * cy]])


def eye_alignment_matrix(
    landmarks: Sequence[Sequence[float]],
    centre: tuple[float, float] | None = None,
    scale: float = 1.0,
    out_centre: tuple[float, float] | None = None,
) -> np.ndarray:
    """2x3 similarity that levels the eyes: rotation by ``eye_angle(landmarks)`` about ``centre``
    (default: the midpoint between the eyes), which lands on ``out_centre`` (default: ``centre``)."""
    if centre is None:
        (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
        centre = ((rx + lx) / 2.0, (ry + ly) / 2.0)
    return similarity_matrix(centre, eye_angle(landmarks), scale, out_centre or centre)


def crop_side(box: FaceBox, margin: float = DEFAULT_MARGIN) -> float:
    """Side in input pixels of the square crop: the box width in Haar units, enlarged by margin."""
    width = box.w / LANDMARK_BOX_WIDTH_RATIO if box.landmarks else box.w
    return max(1.0, width * (1.0 + margin))


def crop_matrix(
    box: FaceBox, margin: float = DEFAULT_MARGIN, size: int | None = None, level_eyes: bool = True
) -> tuple[np.ndarray, int]:
    """(2x3 matrix mapping input pixels to crop pixels, crop side in pixels) for ``crop_face``."""
    side = crop_side(box, margin)
    out = int(size) if size else max(1, int(round(side)))
    centre = (box.x + box.w / 2.0, box.y + box.h / 2.0)
    angle = eye_angle(box.landmarks) if (level_eyes and box.landmarks) else 0.0
    return similarity_matrix(centre, angle, out / side, (out / 2.0, out / 2.0)), out


def crop_face(
    image: np.ndarray,
    box: FaceBox,
    margin: float = DEFAULT_MARGIN,
    size: int | None = None,
    level_eyes: bool = True,
    border: str = "replicate",
) -> np.ndarray:
    """The face in ``box`` as a square uint8 crop with the channels of ``image`` (grey, BGR, BGRA).

    margin: fraction added to the box width (0.2 = 20% wider; Haar units, see the module doc).
    size: resize the crop to size x size (None keeps the crop's own pixel size).
    level_eyes: rotate so the eyes are level when the box has landmarks.
    border: "replicate" or "constant" (black) for the parts outside the image.
    """
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim not in (2, 3)
        or image.size == 0
    ):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise GrinlabError(
            f"crop_face takes a uint8 image (H, W) or (H, W, C) as OpenCV decodes it, got {got}"
        )
    if not (box.w > 0 and box.h > 0):
        raise GrinlabError(f"crop_face: the face box must have a positive size, got w={box.w} h={box.h}")
    if not margin >= 0:
        raise GrinlabError(f"crop_face: margin must be >= 0 (a fraction of the box width), got {margin}")
    if size is not None and (int(size) != size or size < 1):
        raise GrinlabError(f"crop_face: size must be a positive whole number of pixels, got {size}")
    if border not in _BORDERS:
        raise GrinlabError(f"crop_face: border must be one of {', '.join(_BORDERS)}, got {border!r}")
    m, out = crop_matrix(box, margin, size, level_eyes)
    side = crop_side(box, margin)
    if out < side / 1.5:
        # Shrinking a lot: warp at full resolution, then INTER_AREA (warpAffine alone would alias).
        full, _ = crop_matrix(box, margin, None, level_eyes)
        n = max(1, int(round(side)))
        crop = cv2.warpAffine(image, full, (n, n), flags=cv2.INTER_LINEAR, borderMode=_BORDERS[border])
        crop = cv2.resize(crop, (out, out), interpolation=cv2.INTER_AREA)
    else:
        crop = cv2.warpAffine(image, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=_BORDERS[border])
    if image.ndim == 3 and crop.ndim == 2:  # OpenCV drops a single channel axis
        crop = crop[:, :, None]
    return crop


def crop_largest_face(
    image: np.ndarray,
    detector: FaceDetector,
    margin: float = DEFAULT_MARGIN,
    size: int | None = None,
) -> np.ndarray | None:
    """``crop_face`` of the largest face (by box area; the first of equal ones, i.e. the higher
    score) that ``detector.detect(image)`` finds, with the channels of ``image``; None when it
    finds none. ``margin`` and ``size`` as in ``crop_face``."""
    faces = detector.detect(image)
    if not faces:
        return None
    return crop_face(image, max(faces, key=lambda b: b.area), margin=margin, size=size)


def transform_points(m: np.ndarray, points) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points, e.g. landmarks into crop coordinates."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]
