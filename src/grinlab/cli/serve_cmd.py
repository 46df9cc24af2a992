"""grinlab serve: the HTTP API and the browser page (needs the `web` extra)."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from .options import add_analyzer_arguments

NAME = "serve"
HELP = "serve the HTTP API and the browser page (upload a photo or use the camera); needs grinlab[web]"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the network)")  # fmt: skip
    p.add_argument("--port", type=int, default=8000)
    add_analyzer_arguments(p, frames=True)
    p.add_argument(
        "--workers", type=int, default=2, help="analyses at once over one loaded model set (default 2)"
    )
    p.add_argument("--max-upload-mb", type=float, default=10.0, help="largest upload accepted (default 10)")
    p.add_argument(
        "--gate-config", metavar="FILE.toml", help="smile gate settings for the page ([gate] section)"
    )


def run(args) -> int:
    import uvicorn  # a missing web extra is named in one line by grinlab.cli.main

    from ..errors import GrinlabError
    from ..gate import load_config
    from ..web.app import ServeOptions, create_app
    from .options import analyzer_options

    if not 0 < args.port < 65536:
        raise GrinlabError(f"--port must be between 1 and 65535, got {args.port}")
    options = ServeOptions(
        analyzer=analyzer_options(args), gate=load_config(args.gate_config).gate,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), max_pixels=args.max_pixels, workers=args.workers,
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
