"""The ``grinlab`` console script: one subcommand per module in this package.

Each subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
``main(argv)`` turns a GrinlabError into one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from ..errors import GrinlabError

# Subcommand modules, in the order --help lists them. Training-side ones import torch lazily in run().
COMMANDS = [
    "analyze",
    "demo",
    "models",
    "download",
    "train",
    "teacher-views",
    "evaluate",
    "calibrate",
    "compare",
    "visualize",
    "export",
    "cascade",
    "live",
    "gate",
    "serve",
]


def _load(name: str):
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}_cmd")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="grinlab", description="Smile and facial-expression recognition: analyse, train, compare."
    )
    parser.add_argument("--version", action="version", version=f"grinlab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = _load(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(__name__):
                continue  # subcommand not built yet
            raise
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:  # OpenCV's and FFmpeg's own warnings would break the one-line error rule
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when FFmpeg first opens a stream
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except GrinlabError as exc:
        print(f"grinlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"grinlab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except ModuleNotFoundError as exc:  # an optional extra that is not installed: name it
        from ..extras import missing_extra_error

        error = missing_extra_error(exc)
        if error is None:
            raise
        print(f"grinlab {args.command}: error: {error}", file=sys.stderr)
        return 2


def _closed_pipe() -> int:
    """The reader of stdout went away (``grinlab models --json | head -1``): stop quietly, as
    ``yes | head`` does. stdout goes to /dev/null so that Python's final flush does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
