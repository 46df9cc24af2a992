"""grinlab serve: the HTTP API and the browser page (needs the `web` extra)."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from .options import FLIP_TTA_HELP

NAME = "serve"
HELP = "serve the HTTP API and the browser page (upload a photo or use the camera); needs grinlab[web]"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the network)")  # fmt: skip
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                   help="shipped model names, .onnx files or cascade cards (default: the shipped defaults)")  # fmt: skip
    p.add_argument("--detector", default="auto", help="auto, yunet or haar")
    p.add_argument("--yunet-model", metavar="PATH", help="a local YuNet .onnx file")
    p.add_argument("--detect-width", type=int, metavar="PX", help="detect on a copy this wide (default 800)")
    p.add_argument("--flip-tta", action="store_true", help=FLIP_TTA_HELP)
    p.add_argument("--workers", type=int, default=2, help="analyses at once, one model set each (default 2)")
    p.add_argument("--max-upload-mb", type=float, default=10.0, help="largest upload accepted (default 10)")
    p.add_argument(
        "--max-pixels", type=int, default=25_000_000, help="largest image accepted (default 25 MP)"
    )
    p.add_argument("--detect-every", type=int, default=1, metavar="N", help="live: detect every N-th frame")
    p.add_argument(
        "--gate-config", metavar="FILE.toml", help="smile gate settings for the page ([gate] section)"
    )


def run(args) -> int:
    import uvicorn  # a missing web extra is named in one line by grinlab.cli.main

    from ..errors import GrinlabError
    from ..gate import load_config
    from ..pipeline import AnalyzerOptions
    from ..web.app import ServeOptions, create_app
    from .options import detector_options

    det_opts = detector_options(args)
    if not 0 < args.port < 65536:
        raise GrinlabError(f"--port must be between 1 and 65535, got {args.port}")
    options = ServeOptions(
        analyzer=AnalyzerOptions(detector=args.detector, detector_options=det_opts,
                                 models=tuple(args.models) if args.models else None, flip_tta=args.flip_tta),
        gate=load_config(args.gate_config).gate, max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_pixels=args.max_pixels, workers=args.workers, detect_every=args.detect_every,
    )  # fmt: skip
    app = create_app(options)
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(f"grinlab serve: warning: binding {args.host} exposes the API to the network; it has no "
              "authentication", file=sys.stderr)  # fmt: skip
    print(
        f"grinlab serve: http://{args.host}:{args.port}/  (API schema: /openapi.json; Ctrl-C stops)",
        file=sys.stderr,
    )
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            ws_max_size=options.max_upload_bytes + 1024,
        )
    except OSError as exc:
        raise GrinlabError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0
