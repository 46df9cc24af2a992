"""Detection quality and speed on real photos, per detector.

- precision / recall / F1 at IoU 0.5 on the 43 annotated faces of dlib_faces (training.xml +
  testing.xml, dlib's imglab XML), greedy matching by IoU;
- faces found on the 1927 Solvay conference photo (29 people);
- median detect time on a 640x480 frame (a dlib photo letterboxed to 640x480).

    OMP_NUM_THREADS=1 python benchmarks/detection_quality.py --sweep --scale-sweep
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import bench_io
import cv2
import numpy as np

from grinlab.detect import DetectorOptions, create_detector
from grinlab.results import FaceBox

HERE = Path(__file__).resolve().parent
CASCADES = ("default", "alt", "alt2")


def load_boxes(folder: Path) -> dict[str, list[FaceBox]]:
    truth: dict[str, list[FaceBox]] = {}
    for xml in ("training.xml", "testing.xml"):
        for img in ET.parse(folder / xml).getroot().iter("image"):
            truth.setdefault(img.get("file"), []).extend(
                FaceBox(
                    float(b.get("left")), float(b.get("top")), float(b.get("width")), float(b.get("height"))
                )
                for b in img.iter("box")
            )
    return truth


def match(pred: list[FaceBox], truth: list[FaceBox], iou: float = 0.5) -> int:
    """Greedy one-to-one matching by IoU; returns the number of true positives."""
    pairs = sorted(((p.iou(t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth)), reverse=True)
    used_p, used_t, tp = set(), set(), 0
    for v, i, j in pairs:
        if v < iou:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            tp += 1
    return tp


def evaluate(detector, photos: Path, repeats: int = 20) -> dict:
    truth = load_boxes(photos / "dlib_faces")
    tp = n_pred = n_true = 0
    for name, boxes in truth.items():
        pred = detector.detect(cv2.imread(str(photos / "dlib_faces" / name)))
        tp += match(pred, boxes)
        n_pred += len(pred)
        n_true += len(boxes)
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    solvay = detector.detect(cv2.imread(str(photos / "solvay_1927" / "Solvay_conference_1927.jpg")))
    frame = letterbox(cv2.imread(str(photos / "dlib_faces" / "2008_002470.jpg")), 640, 480)
    for _ in range(3):
        detector.detect(frame)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        detector.detect(frame)
        times.append((time.perf_counter() - t0) * 1e3)
    return {
        "dlib_faces": {"true": n_true, "predicted": n_pred, "true_positives": tp, "precision": round(p, 4),
                       "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0},
        "solvay_1927_faces_found": len(solvay),
        "solvay_1927_people": 29,
        "detect_ms_640x480_median": round(statistics.median(times), 2),
    }  # fmt: skip


@contextlib.contextmanager
def smallest_px(px: float):
    """YuNet with another smallest reliable face size (the resolution rule's one constant)."""
    from grinlab.detect import yunet as yunet_module

    before = yunet_module.SMALLEST_RELIABLE_PX
    yunet_module.SMALLEST_RELIABLE_PX = float(px)
    try:
        yield
    finally:
        yunet_module.SMALLEST_RELIABLE_PX = before


def letterbox(image: np.ndarray, w: int, h: int) -> np.ndarray:
    s = min(w / image.shape[1], h / image.shape[0])
    img = cv2.resize(image, (int(image.shape[1] * s), int(image.shape[0] * s)))
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
    out[y : y + img.shape[0], x : x + img.shape[1]] = img
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default=str(HERE.parent.parent / "shared"), help="the shared data folder")
    bench_io.add_output_options(p, "detection_quality.json")
    p.add_argument(
        "--threads", type=int, default=1, help="OpenCV threads (1: comparable on a shared machine)"
    )
    p.add_argument("--repeats", type=int, default=20, help="timed detections per setting")
    p.add_argument(
        "--sweep", action="store_true", help="also sweep haar settings (how its defaults were chosen)"
    )
    p.add_argument("--scale-sweep", action="store_true",
                   help="also sweep YuNet's smallest face at its input (how SMALLEST_RELIABLE_PX was chosen)")  # fmt: skip
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "detection_quality.json")
    photos = Path(args.shared) / "data" / "test-photos"
    yunet = Path(args.shared) / "models" / "face_detection_yunet_2023mar.onnx"
    bench_io.require(photos, yunet, what="pass --shared, or set GRINLAB_SHARED")
    cv2.setNumThreads(args.threads)
    results = {
        "haar": {"options": "defaults", **evaluate(create_detector("haar"), photos, args.repeats)},
        "yunet": {
            "options": "defaults",
            **evaluate(create_detector("yunet", model_path=yunet), photos, args.repeats),
        },
    }
    # YuNet before it scaled each image to min_face_size: full resolution up to detect_width (as if
    # the smallest reliable face were min_face_size itself, so no image shrinks)
    with smallest_px(DetectorOptions().min_face_size):
        results["yunet_full_resolution"] = {
            "options": "defaults, no min_face_size scaling (the default before 2026-11-27)",
            **evaluate(create_detector("yunet", model_path=yunet), photos, args.repeats),
        }
    print(json.dumps(results, indent=1))
    if args.scale_sweep:
        results["yunet_scale_sweep"] = []
        for px in (20, 14, 12, 11, 10, 9, 8):
            with smallest_px(px):
                r = evaluate(create_detector("yunet", model_path=yunet), photos, args.repeats)
            results["yunet_scale_sweep"].append({"smallest_reliable_px": px, **r})
            print(json.dumps(results["yunet_scale_sweep"][-1]))
    if args.sweep:
        sweep = []
        # dlib photos are <= 500 px wide: the detect width matters for Solvay (and the time) only
        grid = [(c, 800, sf, mn) for c in CASCADES for sf, mn in ((1.1, 5), (1.2, 3), (1.2, 2))]
        grid += [("alt2", w, 1.2, 2) for w in (640, None)] + [("alt2", 800, 1.3, 2)]
        for cascade, width, sf, mn in grid:
            d = create_detector(
                "haar",
                cascade=f"haarcascade_frontalface_{cascade}.xml",
                detect_width=width,
                scale_factor=sf,
                min_neighbors=mn,
            )
            r = evaluate(d, photos, max(3, args.repeats // 4))
            setting = {"cascade": cascade, "detect_width": width, "scale_factor": sf, "min_neighbors": mn}
            sweep.append({**setting, **r})
            print(json.dumps(sweep[-1]))
        results["haar_sweep"] = sweep
    doc = {
        "command": shlex.join(["python", *sys.argv]),
        "machine": {
            "cpu_count": os.cpu_count(),
            "opencv_threads": args.threads,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "opencv": cv2.__version__,
        },
        "notes": "precision/recall/F1 at IoU 0.5 with greedy one-to-one matching against the 43 dlib_faces "
        "boxes; the machine's 2 cores are shared with other jobs, so times are indicative only",
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
