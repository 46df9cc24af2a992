"""OpenCV's Viola-Jones frontal-face cascade: ships inside opencv-python-headless (<5), so it is the
detector that works on a fresh offline install.

Speed: detection runs on a grey, histogram-equalised copy downscaled to ``detect_width``.
Score: a Haar cascade has no calibrated score; we use the number of overlapping raw detections
that were merged into the box (OpenCV's ``numDetections``), mapped to [0, 1) as n / (n + 5).
With the default minNeighbors=5 a kept face scores at least 0.5.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import GrinlabError
from ..results import FaceBox
from .base import DetectorOptions, as_grey, downscale, finish

CASCADE = "haarcascade_frontalface_default.xml"


class HaarDetector:
    def __init__(
        self, options: DetectorOptions | None = None, scale_factor: float = 1.1, min_neighbors: int = 5
    ):
        self.options = options or DetectorOptions()
        if scale_factor <= 1.0:
            raise GrinlabError(f"scale_factor must be > 1, got {scale_factor}")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        data = getattr(cv2, "data", None)
        path = None if data is None else data.haarcascades + CASCADE
        self._cascade = cv2.CascadeClassifier(path) if path else None
        if self._cascade is None or self._cascade.empty():
            raise GrinlabError(
                "the Haar cascade is missing from this OpenCV build (opencv-python-headless 5.x dropped it); "
                "install 'opencv-python-headless<5' or use --detector yunet"
            )

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        grey = as_grey(image)
        small, scale = downscale(grey, self.options.detect_width)
        small = cv2.equalizeHist(small)
        min_side = max(12, int(self.options.min_face_size / scale))
        rects, counts = self._cascade.detectMultiScale2(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side),
        )
        boxes = [
            FaceBox(
                float(x * scale), float(y * scale), float(w * scale), float(h * scale), float(n / (n + 5.0))
            )
            for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(counts).reshape(-1))
        ]
        return finish(boxes, self.options, grey.shape)
