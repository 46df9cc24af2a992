"""The driver side of ``grinlab analyze --engine ray``: plan the parts, hand the unfinished ones
to a pool of PartWorker actors, and stitch the finished parts into the single-process layout."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2

from ..errors import GrinlabError
from ..io.images import DEFAULT_MAX_PIXELS
from ..io.video_out import VideoOut
from .ray_engine import CHUNK_FRAMES, Part, PartWorker, _atomic_write, _init_ray, plan_parts


def run_ray(
    options,
    inputs: list,
    out_dir,
    *,
    every: int = 1,
    write_csv: bool = False,
    annotate: bool | str = True,
    resume: bool = False,
    force: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
    workers: int | None = None,
    address: str | None = None,
    threads: int = 1,
    chunk_frames: int = CHUNK_FRAMES,
    parquet: bool = False,
):
    """Analyse ``inputs`` on Ray into ``out_dir``; returns the batch runner's BatchSummary.
    ``parquet``: also results.parquet/, the CSV's rows as one Parquet file per input
    (``input=<its path under the folders given>``, Hive-style), for large jobs."""
    from tqdm import tqdm

    from ..batch import OUTPUT_NAMES, BatchSummary, _check_run_options, check_out_dir, run_options
    from ..io.sources import expand_inputs
    from ..pipeline import Analyzer

    if every < 1 or chunk_frames < 1:
        raise GrinlabError("--every and --chunk-frames must be at least 1")
    if options.detect_every > 1:  # a part starts mid-video, with no earlier frame to follow faces from
        raise GrinlabError("--engine ray detects faces on every video frame (its parts run side by side); "
                           "drop --detect-every, or analyse locally to follow faces between detections")  # fmt: skip
    workers = workers or len(os.sched_getaffinity(0))
    out_dir = Path(out_dir)
    files = expand_inputs(inputs)
    roots = [Path(p) for p in inputs if Path(p).is_dir()]
    check_out_dir(out_dir, resume, force)
    if force and not resume:
        for name in OUTPUT_NAMES:
            target = out_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    with Analyzer(options) as probe:  # bad models or detector: one error before Ray starts
        now = {**run_options(probe, every, write_csv, annotate, max_pixels), "engine": "ray",
               "chunk_frames": chunk_frames}  # fmt: skip
        detector, models, decisions = probe.detector_name, probe.model_names, probe.decisions
    (out_dir / "parts").mkdir(parents=True, exist_ok=True)
    _check_run_options(out_dir, now, resume)
    parts = plan_parts(files, roots, every, chunk_frames)
    finished = lambda p: (out_dir / "parts" / f"{p.key}.done").exists()  # noqa: E731
    todo = [p for p in parts if not finished(p)]
    summary = BatchSummary(out_dir, detector=detector, models=models)
    summary.skipped_done = len({p.source for p in parts} - {p.source for p in todo})
    if todo:
        import ray
        from ray.util import ActorPool

        _init_ray(address, workers)
        actor = ray.remote(num_cpus=threads, max_restarts=3, max_task_retries=3)(PartWorker)
        pool = ActorPool([actor.remote(options, str(out_dir), every, write_csv, annotate, max_pixels, threads)
                          for _ in range(min(workers, len(todo)))])  # fmt: skip
        try:
            for info in tqdm(pool.map_unordered(lambda a, p: a.run.remote(p), todo), total=len(todo),
                             desc="analyze (ray)", unit="part", disable=not progress):  # fmt: skip
                summary.nodes.add(info["node"])
        except ray.exceptions.RayError as exc:
            raise GrinlabError(f"a Ray worker failed for good ({type(exc).__name__}); the finished parts are "
                               f"kept in {out_dir / 'parts'}: rerun with --resume") from None  # fmt: skip
    _stitch(
        parts, out_dir, write_csv, annotate, every, summary, parquet, options.tracker, decisions, max_pixels
    )
    return summary


def _stitch(parts: list[Part], out_dir: Path, write_csv: bool, annotate, every: int, summary, parquet=False,
            tracker=None, decisions=None, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:  # fmt: skip
    """Concatenate the parts in order into results.jsonl / results.csv, annotated videos and
    timelines per video, and done.txt: the single-process runner's files. A video's frames are
    tracked and smoothed here, in order across its parts, as one local Session does."""
    from ..io.sinks import CSV_COLUMNS

    lines, csv_by_source = [], {}
    by_source: dict[str, list[Part]] = {}
    for p in parts:
        by_source.setdefault(p.source, []).append(p)
    for source, group in by_source.items():
        if group[0].kind == "video":
            text, table = _track_video(
                group, out_dir, annotate, every, summary, tracker, decisions, max_pixels
            )
        else:
            text = "".join((out_dir / "parts" / f"{p.key}.jsonl").read_text() for p in group)
            table = "".join((out_dir / "parts" / f"{p.key}.csv").read_text() for p in group)
            for row in map(json.loads, text.splitlines()):
                if row.get("error"):
                    summary.failed[source] = row["error"]
                else:
                    summary.frames, summary.faces = summary.frames + 1, summary.faces + len(row["faces"])
        lines.append(text)
        csv_by_source[source] = table
    summary.items = len(by_source) - summary.skipped_done
    if parquet:
        _write_parquet(by_source, csv_by_source, out_dir)
    _atomic_write(out_dir / "results.jsonl", "".join(lines))
    if write_csv:
        _atomic_write(
            out_dir / "results.csv", ",".join(CSV_COLUMNS) + "\r\n" + "".join(csv_by_source.values())
        )
    _atomic_write(out_dir / "done.txt", "".join(s + "\n" for s in by_source))


def _track_video(
    group: list[Part], out_dir: Path, annotate, every: int, summary, tracker, decisions, max_pixels
):
    """One video's per-frame results from its parts -> tracked rows (JSONL text, CSV text), its
    timeline and, when asked, its annotated video (decoded again here to draw the tracked labels)."""
    import csv
    import io

    from ..io.drawing import draw_frame
    from ..io.sinks import CSV_COLUMNS, frame_rows, jsonl_line
    from ..io.sources import iter_video
    from ..io.timeline import TimelineAccumulator
    from ..results import frame_from_dict
    from ..track import FaceTracker

    source, follow = group[0].source, FaceTracker(tracker)
    timeline = TimelineAccumulator(Path(source).name)
    lines, table = [], io.StringIO()
    rows = csv.DictWriter(table, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    tracked = {}
    for p in group:
        for row in map(json.loads, (out_dir / "parts" / f"{p.key}.jsonl").read_text().splitlines()):
            if row.get("error"):
                summary.failed[source] = row["error"]
                lines.append(jsonl_line(None, source, row["frame_index"], row["error"]))
                rows.writerows(frame_rows(None, source, row["frame_index"], row["error"]))
                continue
            result = follow.update(frame_from_dict(row), decisions)
            summary.frames, summary.faces = summary.frames + 1, summary.faces + len(result.faces)
            lines.append(jsonl_line(result, source, result.frame_index))
            rows.writerows(frame_rows(result, source, result.frame_index))
            timeline.add(result)
            tracked[result.frame_index] = result
    timeline.write((out_dir / "timeline" / group[0].rel).with_suffix(".png"))
    if annotate and tracked:
        cap = cv2.VideoCapture(source)
        fps = (cap.get(cv2.CAP_PROP_FPS) or 25.0) / every
        cap.release()
        video = VideoOut((out_dir / "annotated" / group[0].rel).with_suffix(".mp4"), fps,
                         what_to_do="pass --no-annotate to analyse without it")  # fmt: skip
        try:
            for fr in iter_video(Path(source), every, max_pixels=max_pixels):
                if fr.frame_index in tracked:
                    video.write(draw_frame(fr.image, tracked[fr.frame_index], legend=False))
        finally:
            video.close()
    return "".join(lines), table.getvalue()


def _write_parquet(by_source: dict[str, list[Part]], csv_by_source: dict[str, str], out_dir: Path) -> None:
    """results.parquet/input=<rel>/part-0.parquet: each input's CSV rows, typed."""
    import csv
    import io
    import urllib.parse

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io.sinks import CSV_COLUMNS

    numeric = {"frame": pa.int64(), "time_ms": pa.float64(), "face": pa.int64(), "x": pa.float64(), "y": pa.float64(),
               "w": pa.float64(), "h": pa.float64(), "detector_score": pa.float64(), "smile_intensity": pa.float64(),
               "score": pa.float64()}  # fmt: skip
    schema = pa.schema([(c, numeric.get(c, pa.string())) for c in CSV_COLUMNS])
    root = out_dir / "results.parquet"
    for source, group in by_source.items():
        rows = list(csv.DictReader(io.StringIO(csv_by_source[source]), fieldnames=CSV_COLUMNS))
        columns = {c: [_typed(r[c], schema.field(c).type) for r in rows] for c in CSV_COLUMNS}
        folder = root / f"input={urllib.parse.quote(group[0].rel, safe='')}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "part-0.parquet.tmp"
        pq.write_table(pa.table(columns, schema=schema), tmp)
        os.replace(tmp, folder / "part-0.parquet")


def _typed(value: str, kind):
    import pyarrow as pa

    if value == "":
        return None
    return int(value) if kind == pa.int64() else float(value) if kind == pa.float64() else value
