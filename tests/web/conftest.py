"""The web app under test, a real server on loopback, and camera footage made of real photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")

from webtools import serve_options, serving  # noqa: E402

from grinlab.web.app import create_app  # noqa: E402


@pytest.fixture(scope="session")
def app(yunet_path):
    return create_app(serve_options(yunet_path))


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def server_url(app):
    """The app served by uvicorn on a free loopback port, in a thread."""
    with serving(app) as address:
        yield f"http://{address}"


def letterbox(image: np.ndarray, width=640, height=480) -> np.ndarray:
    s = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(
        image, (int(image.shape[1] * s), int(image.shape[0] * s)), interpolation=cv2.INTER_AREA
    )
    canvas = np.full((height, width, 3), 114, np.uint8)
    y, x = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return canvas


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """A raw YUV4MPEG2 video: what Chromium's fake camera reads (and loops)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="session")
def smiling_camera(tmp_path_factory, photos_dir) -> Path:
    """4 s of a smiling portrait (white_house/obama.jpg, the smile model says 0.95) drifting
    left and right, as the fake camera's footage."""
    base = letterbox(cv2.imread(str(photos_dir / "white_house" / "obama.jpg")), 560, 420)
    frames = []
    for i in range(60):
        frame = np.full((480, 640, 3), 114, np.uint8)
        dx = int(40 + 30 * np.sin(i / 60 * 2 * np.pi))
        frame[30:450, dx : dx + 560] = base
        frames.append(frame)
    return write_y4m(tmp_path_factory.mktemp("camera") / "smiling.y4m", frames)
