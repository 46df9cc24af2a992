"""The peer side of analyze_speed.py: the `fer` package (Haar detector + its TFLite emotion model,
the defaults) on the same frames. Runs in its own venv (fer needs TensorFlow):

    python3 -m venv /tmp/fervenv
    /tmp/fervenv/bin/pip install "setuptools<81" tensorflow-cpu "opencv-python-headless<5" pillow requests tqdm pandas
    /tmp/fervenv/bin/pip install --no-deps fer==25.10.3   # its facenet-pytorch extra would pull a CUDA torch
    /tmp/fervenv/bin/python benchmarks/peer_fer.py PHOTOS_DIR REPEATS   # prints one JSON object

Timed per frame: decode (cv2.imdecode, as grinlab does) + FER.detect_emotions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_frames import frames, solvay  # noqa: E402


def time_frames(detector, items, repeats: int) -> dict:
    per_frame, faces = [], {}
    for name, data in items:  # warm-up, and the faces each frame gives
        faces[name] = len(
            detector.detect_emotions(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        )
    for _ in range(repeats):
        for _, data in items:
            t0 = time.perf_counter()
            detector.detect_emotions(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
            per_frame.append((time.perf_counter() - t0) * 1e3)
    return {
        "ms_per_frame_median": float(np.median(per_frame)),
        "ms_per_frame_mean": float(np.mean(per_frame)),
        "frames_per_s": 1e3 / float(np.mean(per_frame)),
        "faces": faces,
    }


def main() -> int:
    import fer
    from fer.fer import FER

    photos, repeats = Path(sys.argv[1]), int(sys.argv[2])
    detector = FER()  # defaults: OpenCV Haar cascade, quantised TFLite emotion model
    out = {
        "package": f"fer {fer.__version__}",
        "detector": "fer default (Haar frontalface_default, TFLite)",
        "frames_640x480": time_frames(detector, frames(photos), repeats),
        "solvay": time_frames(detector, [solvay(photos)], max(1, repeats // 2)),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
