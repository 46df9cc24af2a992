"""Argument handling shared by the subcommands: the analyzer's options are declared once, here,
for ``analyze``, ``live``, ``gate`` and ``serve``, with one default each; so is the dataset loader's
``--data-option`` of ``train`` and ``teacher-views``."""

from __future__ import annotations

import argparse
import json

from ..errors import GrinlabError

FLIP_TTA_HELP = (
    "also classify each face's mirror image and average the probabilities (flip test-time "
    "augmentation): twice the classify cost; README > Models gives the accuracy with and without it"
)


def add_analyzer_arguments(
    p: argparse.ArgumentParser, *, stills: bool = False, frames: bool = False, images: bool = True
) -> None:
    """The Analyzer's options. ``stills``: options only batch analysis of images has (--crops);
    ``frames``: options of video and streams (--detect-every, --smoothing-ms); ``images``: the
    command decodes images or files it is given (--max-pixels)."""
    from ..io.images import DEFAULT_MAX_PIXELS

    g = p.add_argument_group("analysis")
    g.add_argument("--detector", default="auto",
                   help="face detector: auto (yunet if its model is present, else haar), yunet or haar")  # fmt: skip
    g.add_argument(
        "--yunet-model", metavar="PATH", help="a local YuNet .onnx file (else the cached download)"
    )
    g.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                   help="shipped model names (see `grinlab models`), .onnx files or cascade cards; "
                        "default: smile, valence and emotion7 (those shipped)")  # fmt: skip
    g.add_argument("--min-face", type=int, metavar="PX",
                   help="ignore faces smaller than this many pixels (default 20); YuNet looks at each "
                        "frame at the lowest resolution that still finds faces this small, so a larger "
                        "value is also faster")  # fmt: skip
    g.add_argument("--detect-width", type=int, metavar="PX",
                   help="never detect on a copy wider than this (default 800; see --min-face)")  # fmt: skip
    g.add_argument(
        "--max-faces", type=int, metavar="N", help="keep at most N faces per frame (highest score first)"
    )
    g.add_argument("--flip-tta", action="store_true", help=FLIP_TTA_HELP)
    if images:
        g.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
                       help=f"refuse images larger than this (decompression bombs; default {DEFAULT_MAX_PIXELS:,})")  # fmt: skip
    if stills:
        g.add_argument("--crops", action="store_true",
                       help="each input image is already one cropped face: skip detection")  # fmt: skip
    if frames:
        g.add_argument("--detect-every", type=int, default=1, metavar="N",
                       help="video and streams: run the detector every N-th frame and follow faces in "
                            "between (default 1)")  # fmt: skip
        g.add_argument("--smoothing-ms", type=float, default=150.0, metavar="MS",
                       help="video and streams: time constant of the label smoothing (0 = off; default 150)")  # fmt: skip


def detector_options(args) -> dict:
    """DetectorOptions keywords from --yunet-model, --min-face and --detect-width (where the
    subcommand has them and they were given)."""
    opts = {}
    if getattr(args, "yunet_model", None):
        opts["model_path"] = args.yunet_model
    if getattr(args, "min_face", None) is not None:  # 0 is an error to report, not "not given"
        opts["min_face_size"] = args.min_face
    if getattr(args, "detect_width", None) is not None:
        opts["detect_width"] = args.detect_width
    return opts


def analyzer_options(args, **extra):
    """AnalyzerOptions from the arguments ``add_analyzer_arguments`` declared (``extra``: e.g. the
    running mode)."""
    from ..pipeline import AnalyzerOptions
    from ..track import TrackerOptions

    kw = dict(
        detector=args.detector,
        detector_options=detector_options(args),
        models=tuple(args.models) if args.models else None,
        faces_are_crops=getattr(args, "crops", False),
        max_faces=args.max_faces,
        flip_tta=args.flip_tta,
    )
    if hasattr(args, "detect_every"):
        kw.update(detect_every=args.detect_every, tracker=TrackerOptions(smoothing_ms=args.smoothing_ms))
    kw.update(extra)
    return AnalyzerOptions(**kw)


def add_data_option_argument(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    p.add_argument(
        "--data-option",
        metavar="KEY=VALUE",
        action="append",
        help="extra option for the dataset loader, e.g. ferplus=PATH or label_mode=blend (repeatable; "
        "VALUE is read as JSON when it parses, else as text)",
    )


def data_options(items: list[str] | None, base: dict | None = None) -> dict:
    """``--data-option KEY=VALUE`` items over ``base``: 0.3 is a number, true a bool, a path text."""
    options = dict(base or {})
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GrinlabError(f"--data-option must be KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
