"""Channel conversions between the image layouts grinlab takes: the one place that decides what
grey, BGR and BGRA mean to each other.

Images are uint8 arrays as OpenCV decodes them: grey (H, W) or (H, W, 1), BGR (H, W, 3) or BGRA
(H, W, 4). Every conversion is OpenCV's ``cvtColor`` (grey = 0.299 R + 0.587 G + 0.114 B in its
fixed-point rounding; alpha dropped, never blended), so detectors, crops and model inputs get the
same pixels wherever the conversion happens. An image already in the asked layout is returned as
is, not copied.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import GrinlabError


def _checked(image: np.ndarray) -> np.ndarray:
    """``image`` with a (H, W, 1) grey image squeezed to (H, W); anything else is a GrinlabError."""
    ok = isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.size > 0
    if not ok or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise GrinlabError(
            f"expected a uint8 image (H, W) or (H, W, 1|3|4) as OpenCV decodes it "
            f"(grey, BGR or BGRA), got {got}"
        )
    return image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image


def to_bgr(image: np.ndarray) -> np.ndarray:
    """uint8 BGR (H, W, 3) from grey (H, W[, 1]), BGR or BGRA."""
    image = _checked(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 grey (H, W) from grey (H, W[, 1]), BGR or BGRA."""
    image = _checked(image)
    if image.ndim == 2:
        return image
    # BGRA2GRAY ignores alpha: the same pixels as BGRA -> BGR -> grey, without the BGR copy
    return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
