"""grinlab live: a camera, video file or network stream with tracking, smoothing and latency overlay."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from .options import FLIP_TTA_HELP

NAME = "live"
HELP = "analyse a camera (0, 1, ...), video file or RTSP/HTTP stream live: ids, smoothed labels, latency"


def add_live_arguments(p: argparse.ArgumentParser, source_optional: bool = False) -> None:
    """Options shared by `live` and `gate`."""
    p.add_argument(
        "source",
        metavar="SOURCE",
        nargs="?" if source_optional else None,
        help="camera index (0), video file, or rtsp:// / http:// URL",
    )
    p.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                   help="shipped model names, .onnx files or cascade cards (default: the shipped defaults)")  # fmt: skip
    p.add_argument("--detector", default="auto", help="auto, yunet or haar")
    p.add_argument("--yunet-model", metavar="PATH", help="a local YuNet .onnx file")
    p.add_argument("--detect-width", type=int, metavar="PX", help="detect on a copy this wide (default 800)")
    p.add_argument("--min-face", type=int, help="ignore faces smaller than this many pixels")
    p.add_argument("--flip-tta", action="store_true", help=FLIP_TTA_HELP)
    p.add_argument("--detect-every", type=int, default=1, metavar="N",
                   help="run the detector every N-th frame and follow faces in between (default 1)")  # fmt: skip
    p.add_argument("--smoothing-ms", type=float, default=150.0,
                   help="time constant of the label smoothing in ms (0 = off; default 150)")  # fmt: skip
    p.add_argument("--log", metavar="FILE.jsonl", help="write one JSON line per frame (faces, latency, fps)")
    p.add_argument("--out-video", metavar="FILE.mp4", help="write the annotated stream to a video")
    p.add_argument("--show", action="store_true", help="open a window (needs an OpenCV build with a GUI)")
    p.add_argument("--realtime", action="store_true",
                   help="play a video file at its own frame rate and drop frames like a camera "
                        "(default for files: every frame, as fast as possible)")  # fmt: skip
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument(
        "--retries", type=int, default=5, help="reconnect attempts for network streams (default 5)"
    )
    p.add_argument("--stall-timeout", type=float, default=5.0, metavar="S",
                   help="a stream that gives no frame for S seconds is reconnected (default 5)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing --log or --out-video file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_live_arguments(p)


def build(args):
    """(stream, pipeline) from the shared options; the caller closes the stream."""
    from ..io.streams import open_stream
    from ..live import NO_GUI_HELP, LivePipeline, has_gui
    from ..pipeline import Analyzer, AnalyzerOptions
    from ..track import FaceTracker, TrackerOptions

    for option, path in (("--log", args.log), ("--out-video", args.out_video)):
        if path and Path(path).exists() and not args.force:
            from ..errors import GrinlabError

            raise GrinlabError(
                f"{path} exists (an earlier run's {option}); choose another name or add --force"
            )
    if args.show and not has_gui():
        from ..errors import GrinlabError

        raise GrinlabError(NO_GUI_HELP)
    from .options import detector_options

    det_opts = detector_options(args)
    tracker = FaceTracker(TrackerOptions(smoothing_ms=args.smoothing_ms))
    analyzer = Analyzer(AnalyzerOptions(detector=args.detector, detector_options=det_opts,
                                        models=tuple(args.models) if args.models else None,
                                        flip_tta=args.flip_tta))  # fmt: skip
    pipeline = LivePipeline(analyzer, tracker, detect_every=args.detect_every)
    stream = open_stream(args.source, realtime=True if args.realtime else None, max_retries=args.retries,
                         stall_timeout_s=args.stall_timeout, max_frames=args.max_frames)  # fmt: skip
    return stream, pipeline


def sigterm_as_interrupt() -> None:
    """SIGTERM (e.g. from a service manager) stops like Ctrl-C: sinks flushed, summary printed."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def report(name: str, summary, as_json: bool, log_path) -> int:
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(summary.line())
    if summary.interrupted:
        where = f"; log flushed to {log_path}" if log_path else ""
        print(f"grinlab {name}: interrupted after {summary.frames} frames{where}", file=sys.stderr)
        return 130
    if summary.error:
        print(f"grinlab {name}: error: {summary.error}", file=sys.stderr)
        return 1
    return 0


def run(args) -> int:
    from ..live import run_live

    sigterm_as_interrupt()
    stream, pipeline = build(args)
    summary = run_live(stream, pipeline, log_path=args.log, video_path=args.out_video, show=args.show)
    return report(NAME, summary, args.json, args.log)
