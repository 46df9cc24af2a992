"""The HTTP API on real photos: results, limits, errors as JSON."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from webtools import serve_options

from grinlab.web.app import create_app


def upload(client, path, ctype="image/jpeg", route="/api/analyze", name=None):
    with open(path, "rb") as f:
        return client.post(route, files={"image": (name or path.name, f, ctype)})


def test_health_and_models(client):
    h = client.get("/api/health").json()
    assert (
        h["status"] == "ok" and h["models"] == ["smile", "valence", "emotion7"] and h["detector"] == "yunet"
    )
    models = {m["name"]: m for m in client.get("/api/models").json()}
    assert models["emotion7"]["labels"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert models["valence"]["task"] == "valence" and models["smile"]["size_bytes"] > 100_000
    assert "path" not in models["smile"]  # no server file paths in answers


def test_analyze_smiling_and_neutral_portraits(client, photos_dir):
    obama = upload(client, photos_dir / "white_house" / "obama.jpg").json()
    biden = upload(client, photos_dir / "white_house" / "biden.jpg").json()
    assert len(obama["faces"]) == 1 and len(biden["faces"]) == 1
    assert obama["faces"][0]["predictions"]["smile"]["label"] == "smile"
    assert obama["faces"][0]["predictions"]["emotion7"]["label"] == "happy"
    assert biden["faces"][0]["predictions"]["smile"]["label"] == "no_smile"
    assert obama["faces"][0]["smile_intensity"] > 0.8 > 0.2 > biden["faces"][0]["smile_intensity"]
    assert obama["source"] == "obama.jpg" and set(obama["timings_ms"]) >= {"detect", "classify", "total"}


def test_every_face_of_a_group_photo_with_the_cli_schema(client, photos_dir, yunet_path, tmp_path):
    from grinlab.cli import main

    photo = photos_dir / "dlib_faces" / "2008_002470.jpg"
    api = upload(client, photo).json()
    assert len(api["faces"]) >= 5
    out = tmp_path / "cli"
    assert main(["analyze", str(photo), "--out", str(out), "--no-annotate", "--detector", "yunet",
                 "--yunet-model", str(yunet_path)]) == 0  # fmt: skip
    cli = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert set(api) == set(cli) and set(api["faces"][0]) == set(cli["faces"][0])
    assert len(api["faces"]) == len(cli["faces"])


def test_png_upload_and_annotated_jpeg(client, photos_dir):
    r = upload(client, photos_dir / "astronaut.png", ctype="image/png", route="/api/annotate")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imread(str(photos_dir / "astronaut.png"))
    assert image.shape == original.shape


def error_of(r, code):
    assert r.status_code == code, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]["message"]


def test_wrong_content_types_get_415(client, photos_dir):
    assert "multipart/form-data" in error_of(
        client.post("/api/analyze", content=b"x", headers={"content-type": "image/jpeg"}), 415
    )
    assert "text/plain" in error_of(
        client.post("/api/analyze", files={"image": ("a.txt", b"hi", "text/plain")}), 415
    )


def test_not_an_image_and_missing_field_get_422(client):
    assert "not a readable image" in error_of(
        client.post("/api/analyze", files={"image": ("a.jpg", b"nope", "image/jpeg")}), 422
    )
    assert "image" in error_of(
        client.post("/api/analyze", files={"photo": ("a.jpg", b"nope", "image/jpeg")}), 422
    )
    assert "empty" in error_of(
        client.post("/api/analyze", files={"image": ("a.jpg", b"", "image/jpeg")}), 422
    )


def test_upload_and_pixel_limits_get_413(yunet_path, photos_dir):
    from fastapi.testclient import TestClient

    app = create_app(serve_options(yunet_path, max_upload_bytes=100_000, max_pixels=640 * 480, workers=1))
    with TestClient(app) as c:
        big = (photos_dir / "white_house" / "obama.jpg").read_bytes()  # > 100 kB
        assert "limit is" in error_of(
            c.post("/api/analyze", files={"image": ("o.jpg", big, "image/jpeg")}), 413
        )
        small = cv2.imencode(".png", np.zeros((700, 700, 3), np.uint8))[1].tobytes()  # few bytes, many pixels
        assert "pixels is over the limit" in error_of(
            c.post("/api/analyze", files={"image": ("z.png", small, "image/png")}), 413
        )

        def chunks():  # no Content-Length: the limit applies while the body streams in
            yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n'
            yield b"Content-Type: image/jpeg\r\n\r\n"
            for _ in range(50):
                yield b"\0" * 10_000

        r = c.post(
            "/api/analyze", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        error_of(r, 413)


def test_client_file_names_are_labels_not_paths(client, photos_dir):
    r = upload(client, photos_dir / "white_house" / "biden.jpg", name="../../etc/passwd")
    assert r.status_code == 200 and r.json()["source"] == "passwd"


def test_unknown_routes_are_json_errors(client):
    error_of(client.get("/api/nothing"), 404)
    error_of(client.get("/api/analyze"), 405)


def test_live_websocket_tracks_a_face_and_runs_the_gate(client, photos_dir):
    frame = cv2.imencode(".jpg", cv2.imread(str(photos_dir / "white_house" / "obama.jpg")))[1].tobytes()
    with client.websocket_connect("/api/live") as ws:
        replies = []
        for _ in range(5):
            ws.send_bytes(frame)
            replies.append(ws.receive_json())
        ws.send_bytes(b"not a jpeg")
        bad = ws.receive_json()
    assert [r["type"] for r in replies] == ["result"] * 5
    assert {f["track_id"] for r in replies for f in r["result"]["faces"]} == {1}
    assert replies[-1]["gate"]["state"] in ("watching", "smiling") and replies[-1]["server_ms"] > 0
    assert bad["type"] == "error" and "not a readable image" in bad["message"]


def test_live_sessions_are_bounded(yunet_path):
    from fastapi.testclient import TestClient

    with TestClient(create_app(serve_options(yunet_path, max_live_sessions=1, workers=1))) as c:
        with c.websocket_connect("/api/live"):
            with c.websocket_connect("/api/live") as second:
                msg = second.receive_json()
                assert msg["type"] == "error" and "too many live sessions" in msg["message"]


@pytest.mark.parametrize("route", ["/api/analyze", "/api/annotate"])
def test_busy_server_answers_503_with_retry_after(yunet_path, photos_dir, route):
    from fastapi.testclient import TestClient

    app = create_app(serve_options(yunet_path, workers=1, queue_timeout_s=0.01))
    with TestClient(app) as c:
        with app.state.workers.slot(1.0):  # the only worker is taken
            r = c.post(
                route,
                files={
                    "image": ("b.jpg", (photos_dir / "white_house" / "biden.jpg").read_bytes(), "image/jpeg")
                },
            )
        assert "busy" in error_of(r, 503) and r.headers["retry-after"] == "1"
