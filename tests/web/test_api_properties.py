"""The HTTP API and the live WebSocket under arbitrary input (hypothesis, bounded for CI): any
multipart body or header gets a JSON answer below 500, and any WebSocket frame gets a result, an
error message or nothing, with the session still serving the next frame."""

from __future__ import annotations

import cv2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BOUNDED = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CTYPES = [
    "image/jpeg",
    "image/png",
    "application/octet-stream",
    "text/plain",
    "",
    'image/jpeg; x="',
    "multipart/form-data",
]


@BOUNDED
@given(body=st.binary(max_size=2048), ctype=st.sampled_from(CTYPES), name=st.text(max_size=30),
       field=st.sampled_from(["image", "file", ""]), route=st.sampled_from(["/api/analyze", "/api/annotate"]))  # fmt: skip
def test_any_upload_gets_an_answer_below_500(client, body, ctype, name, field, route):
    answer = client.post(route, files={field: (name, body, ctype)})
    assert answer.status_code < 500, answer.text
    if answer.status_code != 200:
        assert "error" in answer.json()


@BOUNDED
@given(body=st.binary(max_size=1024), ctype=st.sampled_from([*CTYPES, "multipart/form-data; boundary=xyz",
                                                             "multipart/form-data; boundary="]))  # fmt: skip
def test_any_raw_body_gets_an_answer_below_500(client, body, ctype):
    answer = client.post("/api/analyze", content=body, headers={"content-type": ctype} if ctype else {})
    assert answer.status_code < 500, answer.text


frame = st.one_of(st.binary(max_size=512).map(lambda b: ("bytes", b)),
                  st.one_of(st.text(max_size=60), st.sampled_from(['{"type": "reset"}', "[1]", "{", '{"type": 5}', "null"]))
                  .map(lambda t: ("text", t)))  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(frame, min_size=1, max_size=6))
def test_any_websocket_frame_leaves_the_session_serving(client, photos_dir, frames):
    good = cv2.imencode(".jpg", cv2.imread(str(photos_dir / "white_house" / "obama.jpg")))[1].tobytes()
    with client.websocket_connect("/api/live") as ws:
        for kind, payload in frames:
            if kind == "bytes":
                ws.send_bytes(payload)
                if payload:
                    assert ws.receive_json()["type"] in ("result", "error")
            else:
                ws.send_text(payload)
                if payload and payload != '{"type": "reset"}':
                    assert ws.receive_json()["type"] == "error"
        ws.send_bytes(good)
        reply = ws.receive_json()
    assert reply["type"] == "result" and len(reply["result"]["faces"]) == 1
