"""Batch analysis of images, folders and videos into an output folder.

Layout of ``out_dir``: ``results.jsonl`` (one FrameResult per line), ``results.csv`` (one row per
face and model, when asked), ``annotated/`` (images and videos with boxes, labels and smile bars),
``timeline/<video>.png`` (smile intensity over time per video), ``done.txt`` (finished inputs,
for ``resume``) and ``run.json`` (the options that decide the rows; ``resume`` refuses others).
Inputs are never modified; a bad item becomes an error row and the batch goes on; a full disk
ends the run with one error and leaves every finished input's rows readable.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2

from .errors import GrinlabError
from .io.drawing import draw_frame
from .io.images import DEFAULT_MAX_PIXELS
from .io.sinks import CsvSink, JsonlSink, Manifest
from .io.sources import expand_inputs, iter_image, iter_video, kind_of
from .pipeline import Analyzer
from .results import FrameResult

log = logging.getLogger(__name__)
# everything a run writes in its --out folder ("parts" and "results.parquet": --engine ray)
OUTPUT_NAMES = ("results.jsonl", "results.csv", "done.txt", "run.json", "annotated", "timeline", "parts",
                "results.parquet")  # fmt: skip
RUN_FORMAT = "grinlab-analyze-run-1"


@dataclass
class BatchSummary:
    out_dir: Path
    items: int = 0
    skipped_done: int = 0
    frames: int = 0
    faces: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # source -> error
    nodes: set[str] = field(default_factory=set)  # Ray nodes that analysed parts (--engine ray)
    detector: str = ""  # the detector that ran, and the models (as the analyzer names them)
    models: list[str] = field(default_factory=list)

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
    if not cv2.imwrite(str(tmp), image):  # OpenCV says only "no": a full disk is the usual reason
        import shutil

        full = shutil.disk_usage(path.parent).free < 4 * image.nbytes
        raise OSError(errno.ENOSPC if full else errno.EIO, f"{path}: cannot write the annotated image")
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


def run_options(analyzer: Analyzer, every: int, write_csv: bool, annotate: bool, max_pixels: int) -> dict:
    """Everything that decides the rows and files of a run: a resumed run must use the same."""
    from .modelcard import sha256_file

    opts = analyzer.options
    models = {}
    for name, clf in analyzer.classifiers.items():
        card = getattr(clf, "card", None)
        models[name] = getattr(card, "sha256", "") or sha256_file(clf.path)
    return {
        "format": RUN_FORMAT,
        "detector": analyzer.detector_name,
        "detector_options": {k: str(v) for k, v in sorted(opts.detector_options.items())},
        "models": models,
        "flip_tta": opts.flip_tta,
        "faces_are_crops": opts.faces_are_crops,
        "max_faces": opts.max_faces,
        "crop_margin": opts.crop_margin,
        "detect_every": opts.detect_every,
        "tracker": asdict(opts.tracker),
        "every": every,
        "csv": write_csv,
        "annotate": annotate,
        "max_pixels": max_pixels,
    }


def _check_run_options(out_dir: Path, now: dict, resume: bool) -> None:
    """Record the options (a fresh run) or refuse a resume whose options differ from the run's."""
    path = out_dir / "run.json"
    if resume and ((out_dir / "run.json").exists() or (out_dir / "done.txt").exists()):
        try:
            before = json.loads(path.read_text())
        except FileNotFoundError:
            raise GrinlabError(
                f"{out_dir} has no run.json, so its options are unknown (an older grinlab or not an "
                "analyze folder); rerun with --force to start again"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise GrinlabError(f"{path}: unreadable; rerun with --force to start again") from None
        changed = [k for k in now if before.get(k) != now[k]]
        if changed:
            what = "; ".join(f"{k} was {before.get(k)!r}, now {now[k]!r}" for k in changed)
            raise GrinlabError(
                f"--resume with other options than the run in {out_dir} ({what}); rerun with that "
                "run's options, or with --force to start again"
            )
        return
    tmp = path.with_name("run.json.tmp")
    tmp.write_text(json.dumps(now, indent=2) + "\n")
    os.replace(tmp, path)


def _write_error(out_dir: Path, exc: OSError) -> GrinlabError:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    why = "the disk is full" if full else f"cannot write ({exc.strerror or exc})"
    return GrinlabError(
        f"{out_dir}: {why}; the rows of every input listed in done.txt are complete: "
        f"{'free some space' if full else 'fix that'} and rerun with --resume to finish"
    )


def analyzed_frames(analyzer: Analyzer, frames, kind: str, ahead: bool = True):
    """(frame, result) for each frame of one input; result None for an error frame. Stills are
    analysed one by one (IMAGE); a video's frames go through one Session in time order (VIDEO
    semantics: detect or follow, track ids, smoothing). The local batch and a Ray worker both
    analyse through this.

    ahead: a second thread reads (decodes) the next frames and finds their faces while this one
    classifies, draws and writes (a two-stage pipeline: on two cores about 1.4x the frames per
    second of one stage after the other, benchmarks/analyze_speed.py). Results are the same
    either way; a session that follows faces between detections (detect_every > 1) gets only the
    decoding ahead, since whether a frame needs the detector depends on the frame before."""
    session = analyzer.session() if kind == "video" else None
    detect_ahead = session is None or session.detect_every == 1
    source = _ahead(analyzer, frames, detect_ahead) if ahead else ((fr, None) for fr in frames)
    for fr, detected in source:
        if fr.error:
            yield fr, None
        elif session is not None:
            session.accept(fr.timestamp_ms)
            yield fr, session.process_accepted(fr.image, fr.timestamp_ms, fr.frame_index, fr.source, detected)
        elif detected is not None:
            boxes, detect_ms = detected
            yield fr, analyzer.classify_boxes(fr.image, boxes, fr.source, fr.frame_index, None, detect_ms)
        else:
            yield fr, analyzer.analyze(fr.image, source=fr.source, frame_index=fr.frame_index)


_DONE = object()


def _ahead(analyzer: Analyzer, frames, detect: bool, depth: int = 2):
    """(frame, (boxes, detect ms) or None) from a producer thread that iterates ``frames`` (the
    decoding) and detects, at most ``depth`` frames ahead; its exceptions re-raise here, and
    closing this generator (the consumer stopped) stops it."""
    import queue
    import threading
    import time

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for fr in frames:
                detected = None
                if detect and not fr.error:
                    t0 = time.perf_counter()
                    boxes = analyzer.detect(fr.image)
                    detected = (boxes, (time.perf_counter() - t0) * 1e3)
                if not put((fr, detected)):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            put(exc)

    thread = threading.Thread(target=produce, name="grinlab-read-detect", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class BatchWriter:
    """Everything one run writes for its inputs: rows (JSONL, CSV), annotated images and videos,
    timelines and the done list, with the run's counts in ``summary``."""

    def __init__(self, out_dir: Path, roots: list[Path], *, write_csv: bool, annotate: bool | str, resume: bool,
                 summary: BatchSummary):  # fmt: skip
        self.out_dir, self.roots, self.annotate, self.summary = out_dir, roots, annotate, summary
        self.manifest = Manifest(out_dir / "done.txt", resume=resume)
        self.jsonl = JsonlSink(out_dir / "results.jsonl", resume, self.manifest.done)
        self.csv = CsvSink(out_dir / "results.csv", resume, self.manifest.done) if write_csv else None

    def is_done(self, source: str) -> bool:
        return source in self.manifest.done

    def rows(self, result: FrameResult | None, source: str, frame: int, error: str | None = None) -> None:
        for sink in (self.jsonl, self.csv):
            if sink is not None:
                sink.write_frame(result, source, frame, error)
        if error:
            self.summary.failed[source] = error
        elif result is not None:
            self.summary.frames += 1
            self.summary.faces += len(result.faces)

    def still(self, fr, result: FrameResult | None, rel: Path) -> None:
        if result is None:
            self.rows(None, fr.source, 0, fr.error)
            return
        self.rows(result, fr.source, 0)
        if self.annotate:
            legend = True if self.annotate == "legend" else None  # None: only the labels that fit nowhere
            _atomic_imwrite((self.out_dir / "annotated" / rel).with_suffix(".jpg"),
                            draw_frame(fr.image, result, legend=legend))  # fmt: skip

    def video(self, path: Path, rel: Path, analyzed, fps: float) -> None:
        """A video's analysed frames: rows, the annotated video and the smile timeline; an error
        frame ends the video (an error row; the frames before it stay)."""
        from .io.timeline import TimelineAccumulator
        from .io.video_out import VideoOut

        timeline = TimelineAccumulator(path.name)
        video = None
        if self.annotate:
            video = VideoOut((self.out_dir / "annotated" / rel).with_suffix(".mp4"), fps,
                             what_to_do="pass --no-annotate to analyse without it")  # fmt: skip
        error = None
        try:
            for fr, result in analyzed:
                if result is None:
                    error = fr.error
                    break
                self.rows(result, fr.source, fr.frame_index)
                timeline.add(result)
                if video is not None:
                    video.write(draw_frame(fr.image, result, legend=False))  # every frame the writer's size
        finally:
            analyzed.close()  # stops the thread reading ahead when an error ended the video early
            if video is not None:
                video.close()
        if error:
            self.rows(None, str(path), -1, error)
        timeline.write((self.out_dir / "timeline" / rel).with_suffix(".png"))

    def finish_item(self, source: str) -> None:
        self.jsonl.flush()
        if self.csv:
            self.csv.flush()
        self.manifest.mark(source)

    def close(self) -> None:
        for sink in (self.jsonl, self.csv, self.manifest):
            try:
                if sink is not None:
                    sink.close()
            except OSError:  # the disk is still full: the rows already synced stay as they are
                pass


def run_batch(
    analyzer: Analyzer,
    inputs: list[str | Path],
    out_dir: str | Path,
    *,
    every: int = 1,
    write_csv: bool = False,
    annotate: bool | str = True,  # "legend": annotated images list every face's labels below the picture
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
    summary = BatchSummary(out_dir, detector=analyzer.detector_name, models=analyzer.model_names)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _check_run_options(out_dir, run_options(analyzer, every, write_csv, annotate, max_pixels), resume)
        writer = BatchWriter(
            out_dir, roots, write_csv=write_csv, annotate=annotate, resume=resume, summary=summary
        )
    except OSError as exc:
        raise _write_error(out_dir, exc) from None
    bar = tqdm(total=len(files), desc="analyze", unit="file", disable=not progress)
    todo = [p for p in files if not writer.is_done(str(p))]
    summary.skipped_done += len(files) - len(todo)
    bar.update(len(files) - len(todo))
    try:
        for is_video, group in itertools.groupby(todo, key=lambda p: kind_of(p) == "video"):
            if is_video:
                for path in group:
                    summary.items += 1
                    frames = _video_frames(path, every, max_pixels, progress)
                    rel = _relative_name(path, roots)
                    writer.video(
                        path, rel, analyzed_frames(analyzer, frames, "video"), _video_fps(path, every)
                    )
                    writer.finish_item(str(path))
                    bar.update(1)
                continue
            # a run of stills is one stream, so the next photo is read and detected while this one
            # is classified and written (each is marked done after its rows, as before)
            stills = (fr for p in list(group) for fr in iter_image(p, max_pixels))
            for fr, result in analyzed_frames(analyzer, stills, "image"):
                summary.items += 1
                writer.still(fr, result, _relative_name(Path(fr.source), roots))
                writer.finish_item(fr.source)
                bar.update(1)
                bar.set_postfix(faces=summary.faces, failed=len(summary.failed))
    except OSError as exc:
        raise _write_error(out_dir, exc) from None
    finally:
        bar.close()
        writer.close()
    return summary


def _video_fps(path: Path, every: int) -> float:
    """Frame rate of the annotated video: the input's, divided by --every."""
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.release()
    return fps / every


def _video_frames(path: Path, every: int, max_pixels: int, progress: bool):
    from tqdm import tqdm

    from .io.sources import video_info

    try:
        total = max(1, video_info(path)["frames"] // every)
    except GrinlabError:
        total = None
    frames = iter_video(path, every, max_pixels=max_pixels)
    return tqdm(frames, total=total, desc=path.name, unit="frame", leave=False, disable=not progress)
