"""Helpers for the web tests (a module of its own: `from conftest import ...` is ambiguous when
several test folders have a conftest.py)."""

from __future__ import annotations

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from grinlab.pipeline import AnalyzerOptions
from grinlab.web.app import ServeOptions

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("GRINLAB_TEST_ARTIFACTS", REPO / "test-artifacts"))


def serve_options(yunet_path, **kw) -> ServeOptions:
    analyzer = AnalyzerOptions(detector="yunet", detector_options={"model_path": str(yunet_path)})
    return ServeOptions(analyzer=analyzer, **kw)


@contextmanager
def serving(app):
    """The app served by uvicorn on a free loopback port, in a thread: yields "127.0.0.1:PORT"."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
