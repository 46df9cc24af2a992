"""Batch analysis of images, folders and videos into an output folder.

Layout of ``out_dir``: ``results.jsonl`` (one FrameResult per line), ``results.csv`` (one row per
face and model, when asked), ``annotated/`` (images and videos with boxes, labels and smile bars),
``timeline/<video>.png`` (smile intensity over time per video), ``done.txt`` (finished inputs,
for ``resume``). Inputs are never modified; a bad item becomes an error row and the batch goes on.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2

from .errors import GrinlabError
from .io.drawing import draw_frame
from .io.images import DEFAULT_MAX_PIXELS
from .io.sinks import CsvSink, JsonlSink, Manifest
from .io.sources import expand_inputs, iter_image, iter_video, kind_of
from .pipeline import Analyzer

log = logging.getLogger(__name__)
OUTPUT_NAMES = ("results.jsonl", "results.csv", "done.txt", "annotated", "timeline")


@dataclass
class BatchSummary:
    out_dir: Path
    items: int = 0
    skipped_done: int = 0
    frames: int = 0
    faces: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # source -> error

    @property
    def ok(self) -> bool:
        return not self.failed

    def line(self) -> str:
        s = f"{self.items} input(s), {self.frames} frame(s), {self.faces} face(s)"
        if self.skipped_done:
            s += f", {self.skipped_done} already done (resume)"
        if self.failed:
            s += f", {len(self.failed)} failed"
        return s + f"; results in {self.out_dir}"


def _atomic_imwrite(path: Path, image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    if not cv2.imwrite(str(tmp), image):
        raise GrinlabError(f"{path}: cannot write the annotated image")
    os.replace(tmp, path)


def _relative_name(path: Path, roots: list[Path]) -> Path:
    """Where an input's outputs go under annotated/: its path relative to the folder given on
    the command line (so two folders' a.jpg do not collide), else its file name."""
    for root in roots:
        try:
            return Path(root.name) / path.relative_to(root)
        except ValueError:
            continue
    return Path(path.name)


def check_out_dir(out_dir: Path, resume: bool, force: bool) -> None:
    existing = [n for n in OUTPUT_NAMES if (out_dir / n).exists()]
    if existing and not (resume or force):
        raise GrinlabError(
            f"{out_dir} already holds results ({', '.join(existing)}); "
            "pass --resume to continue that run or --force to overwrite it"
        )


def run_batch(
    analyzer: Analyzer,
    inputs: list[str | Path],
    out_dir: str | Path,
    *,
    every: int = 1,
    write_csv: bool = False,
    annotate: bool = True,
    resume: bool = False,
    force: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
) -> BatchSummary:
    from tqdm import tqdm

    if every < 1:
        raise GrinlabError(f"--every must be at least 1, got {every}")
    out_dir = Path(out_dir)
    files = expand_inputs(inputs)
    roots = [Path(p) for p in inputs if Path(p).is_dir()]
    check_out_dir(out_dir, resume, force)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out_dir / "done.txt", resume=resume)
    summary = BatchSummary(out_dir)
    jsonl = JsonlSink(out_dir / "results.jsonl", resume, manifest.done)
    csv_sink = CsvSink(out_dir / "results.csv", resume, manifest.done) if write_csv else None
    bar = tqdm(files, desc="analyze", unit="file", disable=not progress)
    try:
        for path in bar:
            source = str(path)
            if source in manifest.done:
                summary.skipped_done += 1
                continue
            summary.items += 1
            kind = kind_of(path)
            rel = _relative_name(path, roots)
            if kind == "video":
                _analyze_video(
                    analyzer, path, rel, out_dir, every, annotate, jsonl, csv_sink, summary, progress
                )
            else:
                for fr in iter_image(path, max_pixels):
                    _write_still(analyzer, fr, rel, out_dir, annotate, jsonl, csv_sink, summary)
            jsonl.flush()
            if csv_sink:
                csv_sink.flush()
            manifest.mark(source)
            bar.set_postfix(faces=summary.faces, failed=len(summary.failed))
    finally:
        jsonl.close()
        if csv_sink:
            csv_sink.close()
        manifest.close()
    return summary


def _write_still(analyzer, fr, rel, out_dir, annotate, jsonl, csv_sink, summary) -> None:
    if fr.error:
        summary.failed[fr.source] = fr.error
        jsonl.write_frame(None, fr.source, 0, fr.error)
        if csv_sink:
            csv_sink.write_frame(None, fr.source, 0, fr.error)
        return
    result = analyzer.analyze(fr.image, source=fr.source)
    summary.frames += 1
    summary.faces += len(result.faces)
    jsonl.write_frame(result, fr.source, 0)
    if csv_sink:
        csv_sink.write_frame(result, fr.source, 0)
    if annotate:
        _atomic_imwrite((out_dir / "annotated" / rel).with_suffix(".jpg"), draw_frame(fr.image, result))


def _analyze_video(
    analyzer, path, rel, out_dir, every, annotate, jsonl, csv_sink, summary, progress=False
) -> None:
    from tqdm import tqdm

    from .io.sources import video_info
    from .io.timeline import TimelineAccumulator

    writer = None
    video_out = (out_dir / "annotated" / rel).with_suffix(".mp4")
    tmp_out = video_out.with_name(video_out.stem + ".part.mp4")
    timeline = TimelineAccumulator(path.name)
    error = None
    fps = None
    try:
        total = max(1, video_info(path)["frames"] // every)
    except GrinlabError:
        total = None
    for fr in tqdm(
        iter_video(path, every), total=total, desc=path.name, unit="frame", leave=False, disable=not progress
    ):
        if fr.error:
            error = fr.error
            break
        if fps is None:
            cap = cv2.VideoCapture(str(path))
            fps = (cap.get(cv2.CAP_PROP_FPS) or 25.0) / every
            cap.release()
        result = analyzer.analyze(fr.image, source=fr.source, frame_index=fr.frame_index)
        result = replace(result, timestamp_ms=fr.timestamp_ms)
        summary.frames += 1
        summary.faces += len(result.faces)
        jsonl.write_frame(result, fr.source, fr.frame_index)
        if csv_sink:
            csv_sink.write_frame(result, fr.source, fr.frame_index)
        timeline.add(result)
        if annotate:
            frame = draw_frame(fr.image, result)
            if writer is None:
                tmp_out.parent.mkdir(parents=True, exist_ok=True)
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(tmp_out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            writer.write(frame)
    if writer is not None:
        writer.release()
        os.replace(tmp_out, video_out)
    if error:
        summary.failed[str(path)] = error
        jsonl.write_frame(None, str(path), -1, error)
        if csv_sink:
            csv_sink.write_frame(None, str(path), -1, error)
    timeline.write((out_dir / "timeline" / rel).with_suffix(".png"))
