"""Live pipeline speed on a 640x480 video file at maximum speed, with and without following faces
between detections (``--detect-every N``), and how close the followed frames stay to detecting
every frame. Writes benchmarks/results/live_speed.json.

    python benchmarks/live_speed.py                 # all three default models
    python benchmarks/live_speed.py --models smile  # one model

The video: each real photo of speed_frames.py (1-5 faces) letterboxed to 704x528 and panned under
a 640x480 window for 60 frames (about 1 px per frame, like a hand-held camera), 540 frames in all,
written as MP4 (decoding is part of the measured work). Per frame: read + detect or follow +
classify + track/smooth + the smile gate; no drawing. frames_per_s = frames / wall time;
latency = the per-frame time from a decoded frame to its tracked result. Configurations run in
turn within each of several rounds and the median round is reported, because this VM's speed
drifts over minutes.

Accuracy of following, against detect-every-frame on the same frames: recall = the share of faces
found by detecting every frame that the config also has (IoU >= 0.5); smile agreement = the share
of those whose smoothed smile label is the same; id changes = track ids lasting 5+ frames in a clip beyond
the faces it has (0 = every face kept one id through its clip; across a cut between clips a face in
the same place may keep the previous person's id, as any IoU tracker would).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import bench_io
import cv2
import numpy as np

from grinlab.gate import SmileGate
from grinlab.io.streams import open_stream
from grinlab.pipeline import Analyzer, AnalyzerOptions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from speed_frames import FRAME_PHOTOS, letterbox  # noqa: E402

SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))
CLIP = 60


def make_video(photos_dir: Path, path: Path) -> int:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    n = 0
    for names, _ in FRAME_PHOTOS:
        width = 704 // len(names)
        big = np.hstack([letterbox(cv2.imread(str(photos_dir / p)), width, 528) for p in names])
        for i in range(CLIP):
            dx, dy = int(round(i * 64 / CLIP)), int(round(24 + 24 * np.sin(i / CLIP * 2 * np.pi)))
            writer.write(np.ascontiguousarray(big[dy : dy + 480, dx : dx + 640]))
            n += 1
    writer.release()
    return n


def run_once(analyzer: Analyzer, video: Path, detect_every: int) -> dict:
    pipe = analyzer.session(detect_every=detect_every)
    gate = SmileGate()
    latencies, results = [], []
    t0 = time.perf_counter()
    with open_stream(str(video)) as stream:
        for frame in stream.frames():
            t1 = time.perf_counter()
            r = pipe.process(frame.image, frame.timestamp_ms, frame.frame_index)
            gate.update(r)
            latencies.append((time.perf_counter() - t1) * 1e3)
            results.append(r)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "latencies": latencies, "results": results}


def agreement(reference: list, results: list) -> dict:
    found = same = total = 0
    for ref, res in zip(reference, results):
        for f in ref.faces:
            total += 1
            best = max(res.faces, key=lambda g: g.box.iou(f.box), default=None)
            if best is not None and best.box.iou(f.box) >= 0.5:
                found += 1
                same += best.predictions["smile"].label == f.predictions["smile"].label
    extra_ids = short = 0
    for c in range(len(results) // CLIP):
        clip = results[c * CLIP : (c + 1) * CLIP]
        frames_per_id = {}
        for r in clip:
            for f in r.faces:
                frames_per_id[f.track_id] = frames_per_id.get(f.track_id, 0) + 1
        lasting = sum(n >= 5 for n in frames_per_id.values())
        short += len(frames_per_id) - lasting  # a detector false positive for a frame or two
        extra_ids += max(0, lasting - len(reference[c * CLIP].faces))  # a face that lost its id
    return {"recall_vs_every_frame": round(found / total, 4),
            "smile_label_agreement": round(same / max(1, found), 4),
            "id_changes_within_clips": extra_ids, "tracks_shorter_than_5_frames": short}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=None, help="default: the shipped defaults")
    ap.add_argument("--every", nargs="+", type=int, default=[1, 2, 3, 5], help="detect-every values")
    ap.add_argument("--rounds", type=int, default=3)
    bench_io.add_output_options(ap, "live_speed.json")
    args = ap.parse_args()
    args.out = bench_io.output(args, "live_speed.json")
    bench_io.require(SHARED / "models" / "face_detection_yunet_2023mar.onnx", SHARED / "data" / "test-photos")
    yunet = SHARED / "models" / "face_detection_yunet_2023mar.onnx"
    options = AnalyzerOptions(detector="yunet", detector_options={"model_path": str(yunet)},
                              models=tuple(args.models) if args.models else None)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, Analyzer(options) as analyzer:
        video = Path(tmp) / "pan_640x480.mp4"
        n_frames = make_video(SHARED / "data" / "test-photos", video)
        run_once(analyzer, video, 1)  # warm-up
        rounds = {n: [] for n in args.every}
        for r in range(args.rounds):
            for n in args.every:
                rounds[n].append(run_once(analyzer, video, n))
                print(
                    f"round {r + 1} detect_every={n}: {n_frames / rounds[n][-1]['wall_s']:.1f} frames/s",
                    flush=True,
                )
        reference = rounds[1][0]["results"] if 1 in rounds else run_once(analyzer, video, 1)["results"]
        configs = {}
        for n, runs in rounds.items():
            runs = sorted(runs, key=lambda x: x["wall_s"])
            mid = runs[len(runs) // 2]
            lat = np.array(mid["latencies"])
            configs[f"detect_every_{n}"] = {
                "frames_per_s": round(n_frames / mid["wall_s"], 1),
                "frames_per_s_rounds": [round(n_frames / x["wall_s"], 1) for x in runs],
                "latency_p50_ms": round(float(np.percentile(lat, 50)), 2),
                "latency_p99_ms": round(float(np.percentile(lat, 99)), 2),
                "latency_max_ms": round(float(lat.max()), 2),
                **agreement(reference, mid["results"]),
            }
        faces_per_clip = [len(reference[i * CLIP].faces) for i in range(len(FRAME_PHOTOS))]
        out = {
            "what": "live pipeline (read, detect or follow, classify, track, gate) on a 640x480 MP4 at maximum speed",
            "command": "python benchmarks/live_speed.py" + (f" --models {' '.join(args.models)}" if args.models else ""),
            "video": {"frames": n_frames, "clips": len(FRAME_PHOTOS), "frames_per_clip": CLIP,
                      "faces_per_clip_detected": faces_per_clip, "faces_summed_over_clips": sum(faces_per_clip)},
            "models": analyzer.model_names, "detector": "yunet", "rounds": args.rounds,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "configs": configs,
        }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["configs"], indent=2))


if __name__ == "__main__":
    main()
