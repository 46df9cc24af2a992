"""Stream sources: files in order, newest-frame-wins for live sources, network streams that drop,
cameras that cannot be opened."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import pytest

from grinlab.errors import GrinlabError
from grinlab.io.streams import describe, open_stream


def test_sources_are_told_apart():
    assert describe("0") == ("camera", 0)
    assert describe(2) == ("camera", 2)
    assert describe("rtsp://cam.local/stream") == ("url", "rtsp://cam.local/stream")
    assert describe("clip.mp4") == ("file", "clip.mp4")


def test_a_video_file_gives_every_frame_in_order(sequence_video):
    with open_stream(str(sequence_video)) as s:
        frames = list(s.frames())
    assert [f.frame_index for f in frames] == list(range(90))
    assert frames[0].image.shape == (480, 640, 3)
    assert frames[30].timestamp_ms == pytest.approx(1000.0)
    assert s.stats.dropped == 0 and s.error is None


def test_realtime_playback_drops_frames_a_slow_consumer_cannot_take(sequence_video):
    """At 30 frames/s with a consumer taking 100 ms per frame, the newest frame wins."""
    got = []
    with open_stream(str(sequence_video), realtime=True) as s:
        for f in s.frames():
            got.append(f.frame_index)
            time.sleep(0.1)
    assert s.stats.dropped > 40 and len(got) < 50
    assert got == sorted(got) and got[-1] >= 85  # never behind: the last frame shown is near the end


def test_max_frames_stops_early(sequence_video):
    with open_stream(str(sequence_video), max_frames=5) as s:
        assert len(list(s.frames())) == 5


def test_camera_and_file_that_cannot_be_opened_say_what_to_check(tmp_path):
    with pytest.raises(GrinlabError, match="camera 57 cannot be opened .*check the index"):
        open_stream("57")
    with pytest.raises(GrinlabError, match="no such video file"):
        open_stream(str(tmp_path / "nope.mp4"))
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    with pytest.raises(GrinlabError, match="cannot open this video"):
        open_stream(str(tmp_path / "bad.mp4"))


def test_a_network_stream_that_cannot_be_reached_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(GrinlabError, match="cannot open this stream"):
        open_stream("http://127.0.0.1:9/live.mp4", stall_timeout_s=2)
    assert time.monotonic() - t0 < 5


class MjpegCamera:
    """An IP camera on loopback: multipart/x-mixed-replace JPEG frames at 30 frames/s, the way
    most network cameras serve MJPEG over HTTP. Each connection gets ``frames_per_connection``
    frames and is then cut, like a flaky link; ``down()`` stops the server."""

    def __init__(self, images, frames_per_connection=60):
        jpegs = [cv2.imencode(".jpg", im)[1].tobytes() for im in images]
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                camera.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for i in range(frames_per_connection):
                        data = jpegs[i % len(jpegs)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                        time.sleep(1 / 30)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.connections = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/video.mjpg"

    def down(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def camera(genki_faces):
    from sequences import canvas

    images = [canvas([(genki_faces["neutral"][0], 100 + 3 * i, 100)]) for i in range(30)]
    cam = MjpegCamera(images)
    yield cam
    cam.down()


def test_a_network_stream_reconnects_after_it_drops(camera):
    with open_stream(camera.url, max_frames=100, backoff_s=0.05) as s:
        frames = list(s.frames())
    assert len(frames) == 100 and s.stats.reconnects >= 1 and camera.connections >= 2
    assert frames[0].image.shape == (480, 640, 3)
    times = [f.timestamp_ms for f in frames]
    assert times == sorted(times)


def test_a_network_stream_that_stays_down_ends_with_a_clear_error(camera):
    s = open_stream(camera.url, max_retries=2, backoff_s=0.05, stall_timeout_s=2)
    got = []
    t0 = time.monotonic()
    for f in s.frames():
        got.append(f)
        if len(got) == 10:
            camera.down()
    s.close()
    assert 10 <= len(got) <= 60  # the rest of the first connection, then nothing
    assert s.error and "did not come back after 2 retries" in s.error
    assert time.monotonic() - t0 < 15
