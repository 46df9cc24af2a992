"""The server on loopback under clients that misbehave, bounded in count and time: a body that
trickles in gets 408 while other clients are served; a live session that sends nothing is closed
and its slot freed. (benchmarks/web_abuse.py runs 100 clients for 60 s and WebSocket clients that
never read.)"""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from webtools import serve_options, serving

from grinlab.web.app import create_app

websockets = pytest.importorskip("websockets.sync.client", reason="needs the web extra")


@pytest.fixture(scope="module")
def strict_url(yunet_path):
    """A real uvicorn server with 1 s upload and live-idle timeouts and one live session."""
    options = serve_options(yunet_path, upload_timeout_s=1.0, live_idle_timeout_s=1.0, max_live_sessions=1)
    with serving(create_app(options)) as address:
        yield address


def test_a_trickled_upload_gets_408_and_others_are_served(strict_url, photos_dir):
    host, port = strict_url.split(":")
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                 b"Content-Length: 100000\r\n\r\n--b\r\n")  # fmt: skip
    t0 = time.monotonic()
    photo = (photos_dir / "white_house" / "obama.jpg").read_bytes()
    answer = httpx.post(
        f"http://{strict_url}/api/analyze", files={"image": ("o.jpg", photo, "image/jpeg")}, timeout=10
    )
    assert answer.status_code == 200 and time.monotonic() - t0 < 1.0  # not held up by the slow one
    reply = b""
    slow.settimeout(5)
    try:
        for _ in range(20):  # a byte every 0.1 s, far too slow for the 1 s limit
            slow.sendall(b"x")
            time.sleep(0.1)
            reply += slow.recv(4096, socket.MSG_DONTWAIT) if _ready(slow) else b""
        reply += slow.recv(4096)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"did not arrive within 1 s" in reply
    assert time.monotonic() - t0 < 3.0
    slow.close()


def _ready(sock) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


def test_an_idle_live_session_is_closed_and_its_slot_freed(strict_url, photos_dir):
    idle = websockets.connect(f"ws://{strict_url}/api/live")
    t0 = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - closed by the server: ConnectionClosed
        idle.recv(timeout=5)
    assert 0.8 < time.monotonic() - t0 < 3.0
    assert idle.close_code == 1001
    frame = (photos_dir / "white_house" / "obama.jpg").read_bytes()
    with websockets.connect(f"ws://{strict_url}/api/live") as ws:  # the one slot is free again
        ws.send(frame)
        assert '"type": "result"' in ws.recv(timeout=10).replace('":"', '": "')
