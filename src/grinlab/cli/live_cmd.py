"""grinlab live: a camera, video file or network stream with tracking, smoothing and latency overlay."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from .options import add_analyzer_arguments

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
    add_analyzer_arguments(p, frames=True, images=False)
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
    """(stream, session) from the shared options; the caller closes the stream (``gate`` sets
    ``session.gate``)."""
    from ..io.streams import open_stream
    from ..live import NO_GUI_HELP, has_gui
    from ..pipeline import Analyzer
    from .options import analyzer_options

    for option, path in (("--log", args.log), ("--out-video", args.out_video)):
        if path and Path(path).exists() and not args.force:
            from ..errors import GrinlabError

            raise GrinlabError(
                f"{path} exists (an earlier run's {option}); choose another name or add --force"
            )
    if args.show and not has_gui():
        from ..errors import GrinlabError

        raise GrinlabError(NO_GUI_HELP)
    analyzer = Analyzer(analyzer_options(args))
    session = analyzer.session()
    stream = open_stream(args.source, realtime=True if args.realtime else None, max_retries=args.retries,
                         stall_timeout_s=args.stall_timeout, max_frames=args.max_frames)  # fmt: skip
    return stream, session


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
    stream, session = build(args)
    summary = run_live(stream, session, log_path=args.log, video_path=args.out_video, show=args.show,
                       overwrite=args.force)  # fmt: skip
    return report(NAME, summary, args.json, args.log)
