"""``grinlab analyze --engine ray``: the batch runner's inputs, options and outputs, on Ray actors.

Work is cut into parts: one per image, and frame ranges of ``chunk_frames`` for each video (a
worker seeks to the range's start; frame indices and timestamps are those of a sequential run).
Each part has a deterministic key (input path, size, mtime, range, --every) and is written by one
actor as files under ``out/parts/``, renamed into place, then marked finished by ``<key>.done``:
a part is finished exactly when its marker exists. A task that dies with its worker is retried by
Ray, and a rerun skips finished parts (``--resume``), so every row appears exactly once. The
driver then stitches the parts, in input and frame order, into the single-process layout:
results.jsonl, results.csv, annotated/, timeline/, done.txt.

Actors each load the models once and use ``threads`` OpenCV threads (ONNX Runtime sessions use 1),
so N actors do not oversubscribe the cores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2

from ..errors import GrinlabError

CHUNK_FRAMES = 300


@dataclass(frozen=True)
class Part:
    key: str
    source: str
    rel: str  # where its outputs go under annotated/ and timeline/ (as the single-process runner)
    kind: str  # "image" or "video"
    start: int = 0
    stop: int | None = None


def _key(path: Path, start: int, stop: int | None, every: int) -> str:
    st = path.stat()
    ident = json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, start, stop, every])
    return hashlib.sha1(ident.encode()).hexdigest()[:20]


def plan_parts(
    files: list[Path], roots: list[Path], every: int, chunk_frames: int = CHUNK_FRAMES
) -> list[Part]:
    """The parts of a job, in output order."""
    from ..batch import _relative_name
    from ..io.sources import kind_of, video_info

    parts = []
    for path in files:
        rel = str(_relative_name(path, roots))
        if kind_of(path) != "video":
            parts.append(Part(_key(path, 0, None, every), str(path), rel, "image"))
            continue
        try:
            frames = video_info(path)["frames"]
        except GrinlabError:
            frames = 0  # unreadable: one part, which writes its error row once
        if frames <= chunk_frames:
            parts.append(Part(_key(path, 0, None, every), str(path), rel, "video"))
            continue
        for start in range(0, frames, chunk_frames):
            stop = (
                None if start + chunk_frames >= frames else start + chunk_frames
            )  # the last runs to the end
            parts.append(Part(_key(path, start, stop, every), str(path), rel, "video", start, stop))
    return parts


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class PartWorker:
    """One loaded Analyzer; ``run(part)`` analyses a part and writes its files (a Ray actor)."""

    def __init__(
        self, options, out_dir: str, every: int, write_csv: bool, annotate, max_pixels: int, threads: int
    ):
        from ..pipeline import Analyzer

        cv2.setNumThreads(threads)
        self.analyzer = Analyzer(replace(options, classify_threads=threads))  # the CPUs Ray gave it
        self.out, self.every, self.csv, self.annotate = Path(out_dir), every, write_csv, annotate
        self.threads = threads
        self.max_pixels = max_pixels

    def run(self, part: Part) -> dict:
        """Stills: rows, CSV and annotated image, as the local runner writes them. Video frames: the
        per-frame results only (detect and classify on every frame: a part has no earlier frame to
        follow); the driver tracks and smooths each video's frames in order and draws its video,
        so the rows equal a local run's."""
        import csv
        import io

        from ..batch import _atomic_imwrite, analyzed_frames
        from ..io.drawing import draw_frame
        from ..io.sinks import CSV_COLUMNS, frame_rows, jsonl_line
        from ..io.sources import iter_image, iter_video

        t0 = time.perf_counter()
        parts = self.out / "parts"
        lines, table = [], io.StringIO()
        rows = csv.DictWriter(table, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        faces, frames, errors = 0, 0, []
        if part.kind == "image":
            stream = iter_image(Path(part.source), self.max_pixels)
        else:
            stream = iter_video(Path(part.source), self.every, part.start, self.max_pixels, part.stop)
        # reading ahead is a second busy thread: only for an actor given more than one CPU
        for fr, result in analyzed_frames(self.analyzer, stream, "image", ahead=self.threads > 1):
            frame_index = -1 if (fr.error and part.kind == "video") else fr.frame_index
            if result is None:
                errors.append(fr.error)
                lines.append(jsonl_line(None, fr.source, frame_index, fr.error))
                rows.writerows(frame_rows(None, fr.source, frame_index, fr.error))
                continue
            frames, faces = frames + 1, faces + len(result.faces)
            if part.kind == "video":
                result = replace(result, timestamp_ms=fr.timestamp_ms)
            lines.append(jsonl_line(result, fr.source, fr.frame_index))
            rows.writerows(frame_rows(result, fr.source, fr.frame_index))
            if self.annotate and part.kind == "image":
                legend = True if self.annotate == "legend" else None
                _atomic_imwrite((self.out / "annotated" / part.rel).with_suffix(".jpg"),
                                draw_frame(fr.image, result, legend=legend))  # fmt: skip
        _atomic_write(parts / f"{part.key}.jsonl", "".join(lines))
        _atomic_write(parts / f"{part.key}.csv", table.getvalue())
        import resource

        import ray

        info = {"key": part.key, "frames": frames, "faces": faces, "errors": errors, "pid": os.getpid(),
                "node": ray.get_runtime_context().get_node_id(),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
        _atomic_write(parts / f"{part.key}.done", json.dumps(info))  # the part is finished from here on
        return info


def _refuse_unreachable(address: str) -> None:
    """A HOST:PORT that accepts no connection is one error now: Ray itself retries for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: let Ray resolve them
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise GrinlabError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or type(exc).__name__}); start it with "
            "`ray start --head` there, or drop --address to run Ray here"
        ) from None


def _init_ray(address: str | None, workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    if address:
        _refuse_unreachable(address)
    try:
        quiet = {"log_to_driver": False, "include_dashboard": False, "logging_level": logging.ERROR}
        if address:
            ray.init(address=address, **quiet)
        else:
            # "local": a new Ray of our own, even when a cluster started with `ray start` runs here
            # (plain ray.init() would join it and refuse num_cpus)
            ray.init(address="local", num_cpus=workers, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise GrinlabError(f"cannot reach {where} ({str(exc).splitlines()[0][:200]}); "
                           "start it with `ray start --head` or drop --address") from None  # fmt: skip
