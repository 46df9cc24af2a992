"""End-to-end analysis speed at 640x480 with 1-5 faces and on the Solvay photo (29 faces), per
stage (decode, detect, align, classify, draw), for each detector, and the `fer` package on the same
frames in the same run (its own venv; see peer_fer.py), so every ratio compares numbers measured
together. Writes benchmarks/results/analyze_speed.json.

    python benchmarks/analyze_speed.py --peer-python /tmp/fervenv/bin/python

Frames are real photos letterboxed to 640x480 and JPEG-encoded (speed_frames.py). One stream,
frames one after another through ``Analyzer.analyze``; "frames_per_s" is 1000 / mean ms per
frame over all repeats of all frames. "yunet_analyze_run" is the same frames through `grinlab
analyze`'s own two-stage run (the next frame decoded and detected on a second thread while this one
is classified and drawn): frames per second of throughput, as a folder or video gets them. The summary is the median over rounds (see the comment in
main).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import bench_io
import cv2
import numpy as np
import onnxruntime as ort

from grinlab.io.drawing import draw_frame
from grinlab.io.images import decode_image
from grinlab.pipeline import Analyzer, AnalyzerOptions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from speed_frames import FRAME_PHOTOS, frames, solvay  # noqa: E402

SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))
STAGES = ("decode", "detect", "align", "classify", "draw")


def time_pipeline(analyzer: Analyzer, items: list[tuple[str, bytes]], repeats: int) -> dict:
    stage_ms = {s: [] for s in (*STAGES, "total")}
    faces = {}
    for name, data in items:  # warm-up, and the faces each frame gives
        faces[name] = len(analyzer.analyze(decode_image(data, name)).faces)
    for _ in range(repeats):
        for name, data in items:
            t0 = time.perf_counter()
            image = decode_image(data, name)
            t1 = time.perf_counter()
            result = analyzer.analyze(image, source=name)
            t2 = time.perf_counter()
            draw_frame(image, result)
            t3 = time.perf_counter()
            stage_ms["decode"].append((t1 - t0) * 1e3)
            for s in ("detect", "align", "classify"):
                stage_ms[s].append(result.timings_ms[s])
            stage_ms["draw"].append((t3 - t2) * 1e3)
            stage_ms["total"].append((t3 - t0) * 1e3)
    mean_total = float(np.mean(stage_ms["total"]))
    return {
        "frames_per_s": round(1e3 / mean_total, 1),
        "ms_per_frame_mean": round(mean_total, 2),
        "ms_per_frame_p50": round(float(np.percentile(stage_ms["total"], 50)), 2),
        "ms_per_frame_p99": round(float(np.percentile(stage_ms["total"], 99)), 2),
        "stage_ms_mean": {s: round(float(np.mean(stage_ms[s])), 3) for s in STAGES},
        "faces": faces,
    }


def time_two_stage(analyzer: Analyzer, items: list[tuple[str, bytes]], repeats: int) -> dict:
    """``grinlab analyze``'s own run (batch.analyzed_frames): a second thread decodes and detects
    the next frame while this one classifies and draws, so the frame rate is one of throughput;
    the per-stage means are not comparable with time_pipeline's and are not reported."""
    from grinlab.batch import analyzed_frames
    from grinlab.io.sources import Frame

    def source(n):
        for _ in range(n):
            for name, data in items:
                yield Frame(name, 0, decode_image(data, name))

    for _ in analyzed_frames(analyzer, source(1), "image"):  # warm-up
        pass
    n = 0
    t0 = time.perf_counter()
    for fr, result in analyzed_frames(analyzer, source(repeats), "image"):
        draw_frame(fr.image, result)
        n += 1
    ms = (time.perf_counter() - t0) * 1e3 / n
    return {"frames_per_s": round(1e3 / ms, 1), "ms_per_frame_mean": round(ms, 2)}


def run_peer(python: str, photos: Path, repeats: int) -> dict:
    cmd = [python, str(HERE / "peer_fer.py"), str(photos), str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"peer failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", default=str(SHARED / "data/test-photos"))
    p.add_argument("--yunet", default=str(SHARED / "models/face_detection_yunet_2023mar.onnx"))
    p.add_argument(
        "--detectors", nargs="+", default=["haar", "yunet", "yunet@480"],
        help="NAME or NAME@DETECT_WIDTH (default width 800: 640x480 frames are not resized)",
    )  # fmt: skip
    p.add_argument("--models", nargs="+", default=["smile"], help="shipped models run on every face")
    p.add_argument("--repeats", type=int, default=20, help="passes over the 640x480 frames")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every detector and the peer")
    p.add_argument("--peer-python", help="python of a venv with `fer` installed (see peer_fer.py)")
    bench_io.add_output_options(p, "analyze_speed.json")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "analyze_speed.json")
    bench_io.require(args.photos, args.yunet)

    photos = Path(args.photos)
    items, big = frames(photos), [solvay(photos)]
    analyzers = {}
    for det in args.detectors:  # NAME or NAME@DETECT_WIDTH
        name, _, width = det.partition("@")
        opts = {"model_path": args.yunet} if name == "yunet" else {}
        if width:
            opts["detect_width"] = int(width)
        analyzers[det] = Analyzer(
            AnalyzerOptions(detector=name, detector_options=opts, models=tuple(args.models))
        )
    # This machine is shared and its speed drifts over minutes, so the measurement runs in rounds,
    # each timing every detector and the peer back to back; ratios are taken within a round and
    # the report gives each round and the median.
    rounds = []
    for r in range(args.rounds):
        one = {"grinlab": {}}
        for det, analyzer in analyzers.items():
            one["grinlab"][det] = {
                "frames_640x480": time_pipeline(analyzer, items, args.repeats),
                "solvay": time_pipeline(analyzer, big, max(1, args.repeats // 2)),
            }
            if det == "yunet":  # the default detector, as `grinlab analyze` runs it (two stages)
                one["grinlab"]["yunet_analyze_run"] = {
                    "frames_640x480": time_two_stage(analyzer, items, args.repeats),
                    "solvay": time_two_stage(analyzer, big, max(1, args.repeats // 2)),
                }
            print(f"round {r + 1}", det, json.dumps(one["grinlab"][det]["frames_640x480"]), flush=True)
        if args.peer_python:
            one["peer"] = run_peer(args.peer_python, photos, args.repeats)
            print(f"round {r + 1} peer", json.dumps(one["peer"]["frames_640x480"]), flush=True)
            for scene in ("frames_640x480", "solvay"):
                fps = one["peer"][scene]["frames_per_s"]
                one[f"speedup_vs_peer_{scene}"] = {
                    d: round(v[scene]["frames_per_s"] / fps, 2) for d, v in one["grinlab"].items()
                }
        rounds.append(one)
    for analyzer in analyzers.values():
        analyzer.close()

    def median(values) -> float:
        return round(float(np.median(list(values))), 2)

    summary = {}
    for det in [*analyzers, "yunet_analyze_run"] if "yunet" in analyzers else analyzers:
        for scene in ("frames_640x480", "solvay"):
            summary[f"{det}_{scene}_frames_per_s"] = median(
                o["grinlab"][det][scene]["frames_per_s"] for o in rounds
            )
            if args.peer_python:
                summary[f"{det}_{scene}_speedup_vs_peer"] = median(
                    o[f"speedup_vs_peer_{scene}"][det] for o in rounds
                )
    if args.peer_python:
        for scene in ("frames_640x480", "solvay"):
            summary[f"peer_{scene}_frames_per_s"] = median(o["peer"][scene]["frames_per_s"] for o in rounds)
    doc = {
        "command": shlex.join(["python", *sys.argv]),
        "frames": {
            "640x480": [{"photos": "+".join(names), "faces": n} for names, n in FRAME_PHOTOS],
            "solvay": "1024x512 grey group photo, 29 people",
        },
        "setup": f"one stream, frames in sequence; {args.rounds} rounds of {args.repeats} passes over the "
        f"640x480 frames; models {', '.join(args.models)}; classifiers 1 ONNX Runtime thread; OpenCV "
        f"{cv2.__version__} with {cv2.getNumThreads()} threads",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "onnxruntime": ort.__version__,
        },
        "median_over_rounds": summary,
        "rounds": rounds,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
