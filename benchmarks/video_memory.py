"""A 10,000-frame video through `grinlab analyze` in bounded memory.

Builds a 320x240 MJPG clip of a real photo sliding across the frame, analyses every frame with
annotated video, JSONL, CSV and timeline output, and samples the process's resident memory; writes
benchmarks/results/video_memory.json (RSS after 1k frames vs at the end).

    python benchmarks/video_memory.py --shared ../shared --frames 10000
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

import bench_io
import cv2
import numpy as np

HERE = Path(__file__).resolve().parent


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_clip(path: Path, photo: Path, frames: int) -> None:
    face = cv2.resize(cv2.imread(str(photo)), (220, 220))
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(frames):
        frame = np.full((240, 320, 3), 80, np.uint8)
        x = i % 100
        frame[10:230, x : x + 220] = face
        w.write(frame)
    w.release()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default=str(HERE.parent.parent / "shared"))
    p.add_argument("--frames", type=int, default=10_000)
    bench_io.add_output_options(p, "video_memory.json")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "video_memory.json")
    bench_io.require(Path(args.shared) / "data" / "test-photos" / "astronaut.png")
    from grinlab.batch import run_batch
    from grinlab.pipeline import Analyzer

    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as d:
        clip = Path(d) / "long.avi"
        make_clip(clip, Path(args.shared) / "data" / "test-photos" / "astronaut.png", args.frames)
        out_dir = Path(d) / "out"
        done = threading.Event()
        t0 = time.perf_counter()

        def sample():
            while not done.is_set():
                samples.append((round(time.perf_counter() - t0, 1), round(rss_mb(), 1)))
                time.sleep(2.0)

        threading.Thread(target=sample, daemon=True).start()
        with Analyzer(detector="haar", models=("smile",)) as analyzer:
            summary = run_batch(analyzer, [clip], out_dir, write_csv=True, progress=False)
        done.set()
        seconds = time.perf_counter() - t0
        rows = sum(1 for _ in open(out_dir / "results.jsonl"))
        annotated = cv2.VideoCapture(str(out_dir / "annotated" / "long.mp4"))
        annotated_frames = int(annotated.get(cv2.CAP_PROP_FRAME_COUNT))
        annotated.release()
    early = [m for t, m in samples if t >= 5][:3] or [samples[0][1]]
    result = {
        "command": shlex.join(["python", *sys.argv]),
        "frames": args.frames,
        "frames_analysed": summary.frames,
        "faces": summary.faces,
        "jsonl_rows": rows,
        "annotated_frames": annotated_frames,
        "seconds": round(seconds, 1),
        "frames_per_s": round(summary.frames / seconds, 1),
        "rss_mb_early": max(early),
        "rss_mb_peak": max(m for _, m in samples),
        "rss_mb_end": samples[-1][1],
        "rss_samples": samples[:: max(1, len(samples) // 40)],
        "cpus": os.cpu_count(),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rss_samples"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
