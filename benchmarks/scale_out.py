"""Scale-out on this machine: images/s and video frames/s of `grinlab analyze` single-process and
on Ray with 1 and 2 actors of 1 thread each, the peak memory of a Ray worker on a long video, and
Ray's overhead against the single-process runner at its best settings here. Writes
benchmarks/results/scale_out.json (with --update-results).

    python benchmarks/scale_out.py --update-results

Inputs: the test photos copied to --images files, and a video of --frames 640x480 frames (real
photos panned, as benchmarks/live_speed.py makes them, looped). YuNet and the three default
models; annotation off (it is the same work in both runners). Each configuration runs once after
one warm-up pass; the machine's speed drifts, so compare within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import bench_io
import cv2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def make_inputs(root: Path, photos: Path, n_images: int, n_frames: int) -> tuple[Path, Path]:
    from live_speed import make_video

    images = root / "images"
    images.mkdir(parents=True)
    files = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    for k in range(n_images):
        src = files[k % len(files)]
        shutil.copy(src, images / f"{k:04d}_{src.name}")
    clip = root / "clip.mp4"
    one = root / "one.mp4"
    n = make_video(photos, one)
    reader, writer = None, cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    written = 0
    while written < n_frames:  # the clip looped to n_frames
        reader = cv2.VideoCapture(str(one))
        while written < n_frames:
            ok, frame = reader.read()
            if not ok:
                break
            writer.write(frame)
            written += 1
        reader.release()
    writer.release()
    assert n > 0
    return images, clip


def run(options, inputs: list[str], out: Path, engine: str, workers: int | None = None) -> dict:
    from grinlab.batch import run_batch
    from grinlab.pipeline import Analyzer
    from grinlab.scale.ray_driver import run_ray

    t0 = time.perf_counter()
    if engine == "local":
        with Analyzer(options) as analyzer:
            summary = run_batch(analyzer, inputs, out, annotate=False, force=True, progress=False)
    else:
        summary = run_ray(options, inputs, out, annotate=False, force=True, progress=False, workers=workers,
                          threads=1, chunk_frames=300)  # fmt: skip
    seconds = time.perf_counter() - t0
    infos = [json.loads(p.read_text()) for p in (out / "parts").glob("*.done")]
    row = {"seconds": round(seconds, 2), "frames": summary.frames, "faces": summary.faces,
           "per_s": round(summary.frames / seconds, 1)}  # fmt: skip
    if infos:  # Ray: also the rate while the actors work (their parts' own time, the busiest actor's sum)
        busy: dict[int, float] = {}
        for info in infos:
            busy[info["pid"]] = busy.get(info["pid"], 0.0) + info["seconds"]
        row.update(worker_peak_rss_mb=max(i["peak_rss_mb"] for i in infos),
                   busiest_actor_s=round(max(busy.values()), 2),
                   steady_per_s=round(summary.frames / max(busy.values()), 1))  # fmt: skip
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=96)
    p.add_argument("--frames", type=int, default=1800)
    bench_io.add_output_options(p, "scale_out.json")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "scale_out.json")
    photos, yunet = (
        bench_io.SHARED / "data" / "test-photos",
        bench_io.SHARED / "models" / "face_detection_yunet_2023mar.onnx",
    )
    bench_io.require(photos, yunet)
    import ray

    from grinlab.pipeline import AnalyzerOptions

    options = AnalyzerOptions(detector="yunet", detector_options={"model_path": str(yunet)})
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images, clip = make_inputs(root, photos, args.images, args.frames)
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
        for kind, inputs in (("images", [str(images)]), ("video", [str(clip)])):
            for name, engine, workers in (("single_process", "local", None), ("ray_1_actor", "ray", 1),
                                          ("ray_2_actors", "ray", 2)):  # fmt: skip
                run(options, [str(images / sorted(os.listdir(images))[0])], root / "warm", engine, workers)
                rows[f"{kind}/{name}"] = r = run(options, inputs, root / f"{kind}_{name}", engine, workers)
                print(kind, name, json.dumps(r), flush=True)
        ray.shutdown()
    out = {
        "command": "python benchmarks/scale_out.py" + ("" if args.out else ""),
        "setup": f"{args.images} photos (1-30 faces) and a {args.frames}-frame 640x480 video; YuNet + smile, valence, "
        "emotion7; no annotation; Ray actors with 1 OpenCV thread and 1 ONNX Runtime thread each; the single-process "
        "runner at its defaults here (OpenCV's own threads, ONNX Runtime 1 thread)",
        "machine": {"cpus": os.cpu_count()},
        "rows": rows,
        "speedup_2_vs_1_actor": {k: round(rows[f"{k}/ray_2_actors"]["per_s"] / rows[f"{k}/ray_1_actor"]["per_s"], 2)
                                 for k in ("images", "video")},
        "ray_2_actors_vs_single_process": {k: round(rows[f"{k}/ray_2_actors"]["per_s"] / rows[f"{k}/single_process"]["per_s"], 2)
                                           for k in ("images", "video")},
        "steady_speedup_2_vs_1_actor": {k: round(rows[f"{k}/ray_2_actors"]["steady_per_s"] / rows[f"{k}/ray_1_actor"]["steady_per_s"], 2)
                                        for k in ("images", "video")},
        "notes": "per_s: inputs' frames over the wall clock of the whole run (actor start-up with model loading, Ray's "
                 "processes and stitching included: Ray's overhead); steady_per_s: frames over the busiest actor's "
                 "time inside its parts (the actors' own rate)",
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("speedup_2_vs_1_actor", "steady_speedup_2_vs_1_actor",
                                          "ray_2_actors_vs_single_process")}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
