"""YuNet (Wu et al. 2023) through OpenCV's FaceDetectorYN: boxes, a calibrated score and five
landmarks (right eye, left eye, nose tip, right and left mouth corner; "right" = the subject's).

The ONNX file is not in any package: ``grinlab download yunet`` fetches it with a sha256 check,
or pass ``model_path`` / set GRINLAB_YUNET_MODEL. Nothing is downloaded here.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import GrinlabError
from ..results import FaceBox
from .base import DetectorOptions, as_bgr, downscale, finish

# The smallest face (shorter side, pixels at YuNet's input) it finds reliably, chosen on the 43
# annotated dlib faces and the 29 people of the Solvay photo (python benchmarks/detection_quality.py
# --scale-sweep; benchmarks/results/detection_quality.json): at 11 px Solvay gives 29 boxes (30 at
# full resolution), at 9 px 26; 640x480 frames are detected in 6 ms instead of 15. Photos of
# FULL_SIZE_PIXELS or fewer (the dlib photos, GENKI-4K's, most face crops) are detected at full
# size: cheap there, and YuNet on a shrunk small photo
# misplaces landmarks (GENKI-4K's photos at half size cost the smile model 2.2 points through the
# pipeline, 96.5% -> 94.3% on val) and finds false faces (dlib: 4 false boxes instead of 2).
SMALLEST_RELIABLE_PX = 11.0
FULL_SIZE_PIXELS = 250_000  # 640x480 (307,200) is scaled, 500x500 is not


class YuNetDetector:
    def __init__(self, options: DetectorOptions | None = None, model_path: str | Path | None = None):
        from ..assets import asset_path, missing_message

        self.options = options or DetectorOptions()
        path = Path(model_path) if model_path else asset_path("yunet")
        if path is None:
            raise GrinlabError(missing_message("yunet"))
        if not path.is_file():
            raise GrinlabError(f"{path}: YuNet model file not found")
        if not hasattr(cv2, "FaceDetectorYN"):
            raise GrinlabError("this OpenCV build has no FaceDetectorYN (needs OpenCV >= 4.8)")
        try:
            # Our own threshold/NMS run in finish(); YuNet's are kept loose so the options decide.
            self._net = cv2.FaceDetectorYN.create(
                str(path), "", (320, 320), min(self.options.score_threshold, 0.5), 0.3, 5000
            )
        except cv2.error as exc:
            raise GrinlabError(f"{path}: OpenCV cannot load this YuNet model ({exc.err})") from None
        self.model_path = path
        self._size = (320, 320)

    def detect_width_for(self, width: int, height: int) -> int | None:
        """The width YuNet looks at: small enough that faces of ``min_face_size`` shrink to
        SMALLEST_RELIABLE_PX and no wider than ``detect_width``; images of FULL_SIZE_PIXELS or
        fewer are detected as they are. Detection time grows with the pixels, so a 640x480 frame
        at the default 20 px is detected at 352x264, ~2x faster."""
        o = self.options
        fit = width
        if width * height > FULL_SIZE_PIXELS:
            fit = int(width * min(1.0, SMALLEST_RELIABLE_PX / o.min_face_size))
        return max(64, fit if o.detect_width is None else min(fit, o.detect_width))

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        bgr = as_bgr(image)
        small, scale = downscale(bgr, self.detect_width_for(bgr.shape[1], bgr.shape[0]))
        h, w = small.shape[:2]
        if (w, h) != self._size:
            self._net.setInputSize((w, h))
            self._size = (w, h)
        _, faces = self._net.detect(small)
        boxes = []
        for f in [] if faces is None else faces:
            f = f.astype(np.float64)
            lm = tuple((float(f[4 + 2 * i] * scale), float(f[5 + 2 * i] * scale)) for i in range(5))
            boxes.append(
                FaceBox(
                    float(f[0] * scale),
                    float(f[1] * scale),
                    float(f[2] * scale),
                    float(f[3] * scale),
                    float(f[14]),
                    lm,
                )
            )
        return finish(boxes, self.options, bgr.shape)
