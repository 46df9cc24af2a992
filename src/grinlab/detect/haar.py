"""OpenCV's Viola-Jones frontal-face cascades: they ship inside opencv-python-headless (<5), so this
is the detector that works on a fresh offline install.

Speed: detection runs on a grey, histogram-equalised copy downscaled to ``detect_width``.

Defaults, measured by ``benchmarks/detection_quality.py --sweep`` (results/detection_quality.json):
precision / recall / F1 at IoU 0.5 on the 43 annotated faces of test-photos/dlib_faces, faces found
on the Solvay 1927 photo (29 people; detect width 800) and the median time on a 640x480 frame (one
thread on a shared 2-core machine; compare the times with each other only):
    frontalface_default  scaleFactor 1.1 minNeighbors 5: 0.90 / 0.84 / 0.87  24  272 ms
    frontalface_default  scaleFactor 1.2 minNeighbors 3: 0.92 / 0.84 / 0.88  22  157 ms
    frontalface_alt      scaleFactor 1.2 minNeighbors 2: 0.95 / 0.91 / 0.93  25  169 ms
    frontalface_alt2     scaleFactor 1.1 minNeighbors 5: 1.00 / 0.81 / 0.90  19  231 ms
    frontalface_alt2     scaleFactor 1.2 minNeighbors 3: 0.97 / 0.84 / 0.90  21  137 ms
    frontalface_alt2     scaleFactor 1.2 minNeighbors 2: 0.95 / 0.88 / 0.92  22  137 ms  <- chosen
    frontalface_alt2     scaleFactor 1.3 minNeighbors 2: 1.00 / 0.79 / 0.88  11   89 ms
(scaleFactor 1.05 doubled the time and lowered precision.) The detect width matters for group
photos, whose faces are small: on Solvay (faces ~25 px at 1024 px wide) alt2 finds 13 faces at
640 px, 22 at 800 px and 27 at full size, for the same time on 640x480 frames.

Score: a cascade has no calibrated score. We use the number n of raw detections merged into the
box (OpenCV's ``numDetections``), as n / (n + minNeighbors + 1): a box the cascade keeps has
n > minNeighbors, so it scores at least 0.5, and more agreeing windows push it towards 1. (The
last-stage ``levelWeights`` of detectMultiScale3 rank true and false boxes about as well here,
AUC 0.86 vs 0.85, and need a second, arbitrary squashing.)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import GrinlabError
from ..results import FaceBox
from .base import DetectorOptions, as_grey, downscale, finish

CASCADE = "haarcascade_frontalface_alt2.xml"
CASCADE_WINDOW = 24  # the cascade's training size: smaller faces (at detect scale) cannot be found


class HaarDetector:
    def __init__(
        self,
        options: DetectorOptions | None = None,
        scale_factor: float = 1.2,
        min_neighbors: int = 2,
        cascade: str = CASCADE,
    ):
        """cascade: a file name in OpenCV's ``cv2.data.haarcascades`` folder, or a path to one."""
        self.options = options or DetectorOptions()
        if not scale_factor > 1.0:
            raise GrinlabError(f"haar scale_factor must be > 1 (e.g. 1.2), got {scale_factor}")
        if not isinstance(min_neighbors, int) or min_neighbors < 0:
            raise GrinlabError(f"haar min_neighbors must be an integer >= 0 (e.g. 3), got {min_neighbors}")
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        data = getattr(cv2, "data", None)
        path = Path(cascade).expanduser()
        if not path.is_file() and data is not None:
            path = Path(data.haarcascades) / cascade
        if not path.is_file():
            raise GrinlabError(
                f"Haar cascade {cascade} not found (opencv-python-headless 5.x no longer ships them); "
                "install 'opencv-python-headless<5', pass a cascade .xml path, or use --detector yunet"
            )
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # OpenCV's loader raises on malformed XML
            self._cascade = None
        if self._cascade is None or self._cascade.empty():
            raise GrinlabError(f"{path}: OpenCV cannot load this as a cascade classifier .xml")
        self.cascade = path

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
