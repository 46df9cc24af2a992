"""The smile gate: opens only after a held smile, respects cooldown, logs every event; actions."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sequences import canvas, frame, smile_face, timestamp

from grinlab.errors import GrinlabError
from grinlab.gate import (
    DEFAULT_CONFIG_TOML,
    ActionOptions,
    EventLog,
    GateActions,
    GateConfig,
    GateOptions,
    SmileGate,
    load_config,
)
from grinlab.live import LivePipeline
from grinlab.track import FaceTracker


def run_gate(intensities, gate=None, tracker=None, present=None):
    """Feed one face (smile intensity per frame, None = no face) through a tracker and the gate;
    return {frame: [events]} for frames that had events."""
    gate = gate or SmileGate()
    tracker = tracker or FaceTracker(smoothing_ms=0)
    out = {}
    for i, p in enumerate(intensities):
        faces = () if p is None else (smile_face(200, 100, p, size=120),)
        events = gate.update(tracker.update(frame(i, *faces)))
        if events:
            out[i] = [e["event"] for e in events]
    return out, gate


def test_opens_once_after_the_hold_time_of_a_smile():
    events, gate = run_gate([0.1] * 10 + [0.9] * 60)  # smile from frame 10 (333 ms), held 2 s
    assert events == {40: ["opened"]}  # 30 frames = 1.0 s later, not earlier
    assert gate.openings == 1 and gate.status()["state"] == "open"


def test_a_smile_broken_before_the_hold_time_does_not_open():
    events, _ = run_gate(([0.9] * 25 + [0.2]) * 4)  # 833 ms smiles, each broken by one frame
    assert "opened" not in sum(events.values(), [])


def test_never_opens_on_a_one_frame_smile_and_denies_a_non_smiling_face():
    events, _ = run_gate([0.1] * 30 + [0.99] + [0.1] * 150)  # 6 s in front of the door
    assert events == {120: ["denied"]}  # once, after deny_after_s = 4 s


def test_cooldown_blocks_a_second_opening_until_it_has_passed():
    gate = SmileGate(GateOptions(cooldown_s=3.0))
    # smile, open at frame 30; break; smile again at once (in cooldown); it counts only from
    # the end of the cooldown (frame 120), so the second opening comes at frame 150
    events, _ = run_gate([0.9] * 31 + [0.1] * 5 + [0.9] * 130, gate=gate)
    assert events == {30: ["opened"], 150: ["opened"]}


def test_face_lost_when_the_person_walks_away_before_opening():
    events, gate = run_gate([0.1] * 20 + [None] * 30)
    assert events == {19 + 15: ["face_lost"]}  # last seen at frame 19; lost_after_s = 0.5 s = 15 frames
    assert gate.status()["state"] == "waiting"


def test_a_missed_detection_does_not_reset_a_held_smile():
    events, _ = run_gate([0.9] * 10 + [None] * 2 + [0.9] * 40)
    assert events == {30: ["opened"]}


def test_only_the_largest_face_counts_and_small_faces_are_ignored():
    gate, tracker = SmileGate(GateOptions(min_face_px=80)), FaceTracker(smoothing_ms=0)
    opened = []
    for i in range(60):  # a small smiling face in the background, a large neutral one in front
        r = tracker.update(frame(i, smile_face(10, 10, 0.99, size=60), smile_face(300, 100, 0.1, size=150)))
        opened += [e for e in gate.update(r) if e["event"] == "opened"]
    assert opened == []
    assert gate.status()["track_id"] == 2


def test_event_log_is_complete_with_snapshots(tmp_path, genki_faces, smile_analyzer):
    """Real faces: neutral for 1 s, smiling for 2 s, then the person leaves."""
    log = EventLog(tmp_path / "events.jsonl")
    gate = SmileGate(GateOptions(min_face_px=50), log=log)
    pipe = LivePipeline(smile_analyzer)
    opened_at = None
    for i in range(120):
        face = genki_faces["neutral"][0] if i < 30 else genki_faces["smile"][0]
        img = canvas([(face, 200 + i, 100)] if i < 90 else [])
        r = pipe.process(img, timestamp(i), i)
        for e in gate.update(r, img):
            if e["event"] == "opened":
                opened_at = i
    log.close()
    # the smile starts at frame 30; smoothing adds a few frames before P >= 0.6
    assert 60 <= opened_at <= 60 + 6
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [r["event"] for r in rows] == ["opened"]  # leaving after opening is not "face_lost"
    row = rows[0]
    assert row["held_ms"] >= 1000 and row["smile_intensity"] >= 0.6 and row["track_id"] == 1
    assert (tmp_path / "events_snapshots").is_dir() and row["snapshot"].endswith(".jpg")
    import cv2

    assert cv2.imread(row["snapshot"]).shape == (480, 640, 3)


def test_denied_and_lost_on_real_neutral_face(tmp_path, genki_faces, smile_analyzer):
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    gate = SmileGate(GateOptions(min_face_px=50, deny_after_s=2.0), log=log)
    pipe = LivePipeline(smile_analyzer)
    for i in range(120):  # 3 s neutral, then gone
        img = canvas([(genki_faces["neutral"][0], 200, 100)] if i < 90 else [])
        gate.update(pipe.process(img, timestamp(i), i), img)
    log.close()
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(r["event"], r["frame"]) for r in rows] == [("denied", 60), ("face_lost", 89 + 15)]


# -- config and actions -----------------------------------------------------------------------


def test_default_config_file_round_trips(tmp_path):
    path = tmp_path / "gate.toml"
    path.write_text(DEFAULT_CONFIG_TOML)
    assert load_config(path) == GateConfig()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[gate]\nhold = 2\n", "unknown key 'hold' in \\[gate\\]; known: .*hold_s"),
        ("[gate]\nthreshold = 1.5\n", "threshold must be between 0 and 1"),
        ('[gate]\nthreshold = "high"\n', "threshold must be a number, got 'high'"),
        ("[actions]\non = ['opend']\n", "unknown event 'opend'"),
        ("[gate\n", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key_and_file(tmp_path, text, message):
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(GrinlabError, match=message):
        load_config(path)


def test_a_missing_config_says_how_to_write_one(tmp_path):
    with pytest.raises(GrinlabError, match="--write-config"):
        load_config(tmp_path / "missing.toml")


class _Hook(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_actions_run_command_webhook_and_hook_and_log_the_outcome(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    marker = tmp_path / "opened.txt"
    hook_file = tmp_path / "door.py"
    hook_file.write_text("calls = []\ndef on_event(e):\n    calls.append(e)\n    return 'ok'\n")
    script = f"import os,pathlib; pathlib.Path({str(marker)!r}).write_text(os.environ['GRINLAB_EVENT'])"
    opts = ActionOptions(
        on=("opened", "denied"),
        command=(sys.executable, "-c", script),
        webhook=f"http://127.0.0.1:{server.server_port}/door",
        hook=f"{hook_file}:on_event",
    )
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    actions = GateActions(opts, log)
    run_gate([0.9] * 40, gate=SmileGate(log=log, actions=actions))
    actions.close()
    log.close()
    server.shutdown()
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert rows[0]["event"] == "opened"
    assert {r["action"]: r["ok"] for r in rows[1:]} == {"command": True, "webhook": True, "hook": True}
    assert json.loads(marker.read_text())["event"] == "opened"
    assert _Hook.received[0]["event"] == "opened" and _Hook.received[0]["track_id"] == 1


def test_a_failing_action_is_logged_and_the_gate_goes_on(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    actions = GateActions(ActionOptions(command=(sys.executable, "-c", "raise SystemExit(3)"),
                                        webhook="http://127.0.0.1:9/nothing-listens", timeout_s=2), log)  # fmt: skip
    events, gate = run_gate([0.9] * 40, gate=SmileGate(log=log, actions=actions))
    actions.close()
    log.close()
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    failed = {r["action"]: r for r in rows if r["event"] == "action"}
    assert not failed["command"]["ok"] and "exit code 3" in failed["command"]["detail"]
    assert not failed["webhook"]["ok"] and "refused" in failed["webhook"]["detail"].lower()
    assert gate.openings == 1


def test_bad_hook_and_webhook_are_user_errors(tmp_path):
    with pytest.raises(GrinlabError, match="has no function"):
        (tmp_path / "h.py").write_text("x = 1\n")
        GateActions(ActionOptions(hook=f"{tmp_path / 'h.py'}:nope"))
    with pytest.raises(GrinlabError, match="http"):
        ActionOptions(webhook="ftp://x")
