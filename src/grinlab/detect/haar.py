"""OpenCV's Viola-Jones frontal-face cascade: ships inside opencv-python-headless (<5), so it is the
detector that works on a fresh offline install.

Speed: detection runs on a grey, histogram-equalised copy downscaled to ``detect_width``.
Defaults (scaleFactor 1.1, minNeighbors 5, width 800) were picked by
``benchmarks/detection_quality.py --sweep``: on dlib_faces P 0.90 / R 0.84, 24 of 29 Solvay faces;
scaleFactor 1.05 gains 2 faces at 0.70 precision and twice the time; width 640 loses 14 Solvay faces.

Defaults, measured on the 43 annotated faces of test-photos/dlib_faces (P / R / F1 at IoU 0.5) and
on a 640x480 frame (relative time; 2 shared CPU cores):
    scaleFactor 1.05 minNeighbors 5: 0.69 / 0.88 / 0.78, 1.9x time
    scaleFactor 1.1  minNeighbors 5: 0.90 / 0.84 / 0.87, 1.15x
    scaleFactor 1.2  minNeighbors 3: 0.92 / 0.84 / 0.88, 1.0x    <- chosen
    scaleFactor 1.3  minNeighbors 3: 0.97 / 0.79 / 0.87, 0.7x
The detect width matters for group photos: on the Solvay 1927 photo (29 faces of ~25 px at 1024 px
wide) this cascade finds 9 at 640 px, 23 at 800 px and 25 at full size (see DetectorOptions).

Score: a cascade has no calibrated score. We use the number n of raw detections merged into the
box (OpenCV's ``numDetections``), as n / (n + minNeighbors + 1): a box the cascade keeps has
n > minNeighbors, so it scores at least 0.5, and more agreeing windows push it towards 1. (The
last-stage ``levelWeights`` of detectMultiScale3 rank true and false boxes about as well here,
AUC 0.86 vs 0.85, and need a second, arbitrary squashing.)
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import GrinlabError
from ..results import FaceBox
from .base import DetectorOptions, as_grey, downscale, finish

CASCADE = "haarcascade_frontalface_default.xml"
CASCADE_WINDOW = 24  # the cascade's training size: smaller faces (at detect scale) cannot be found


class HaarDetector:
    def __init__(
        self, options: DetectorOptions | None = None, scale_factor: float = 1.2, min_neighbors: int = 3
    ):
        self.options = options or DetectorOptions()
        if not scale_factor > 1.0:
            raise GrinlabError(f"haar scale_factor must be > 1 (e.g. 1.2), got {scale_factor}")
        if not isinstance(min_neighbors, int) or min_neighbors < 0:
            raise GrinlabError(f"haar min_neighbors must be an integer >= 0 (e.g. 3), got {min_neighbors}")
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
        """Faces sorted by score, highest first; landmarks are None (a cascade gives none)."""
        grey = as_grey(image)
        small, scale = downscale(grey, self.options.detect_width)
        small = cv2.equalizeHist(small)
        min_side = max(CASCADE_WINDOW, int(self.options.min_face_size / scale))
        rects, counts = self._cascade.detectMultiScale2(
            small,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side),
        )
        k = self.min_neighbors + 1.0
        boxes = [
            FaceBox(
                float(x * scale), float(y * scale), float(w * scale), float(h * scale), float(n / (n + k))
            )
            for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(counts).reshape(-1))
        ]
        return finish(boxes, self.options, grey.shape)
