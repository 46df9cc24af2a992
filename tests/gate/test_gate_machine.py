"""The smile gate's state machine: opens only after a held smile, respects cooldown, logs every
event; its events are frozen GateEvents whose dicts keep the event log's schema."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sequences import canvas, frame, smile_face, timestamp

from grinlab.gate import GateEvent, GateOptions, SmileGate
from grinlab.io.event_log import EventLog
from grinlab.track import FaceTracker

# the keys (in order) of an event's dict: the event log line, the hook's argument, the web reply
EVENT_KEYS = [
    "event",
    "time_ms",
    "wall_time",
    "frame",
    "track_id",
    "smile_intensity",
    "held_ms",
    "box",
    "reason",
]


def run_gate(intensities, gate=None, tracker=None):
    """Feed one face (smile intensity per frame, None = no face) through a tracker and the gate;
    return ({frame: [event kinds]} for frames that had events, the gate)."""
    gate = gate or SmileGate()
    tracker = tracker or FaceTracker(smoothing_ms=0)
    out = {}
    for i, p in enumerate(intensities):
        faces = () if p is None else (smile_face(200, 100, p, size=120),)
        events = gate.update(tracker.update(frame(i, *faces)))
        if events:
            out[i] = [e.kind for e in events]
    return out, gate


def tracked(analyzer):
    """A function (image, i) -> frame i detected, classified, tracked and smoothed: what live mode
    hands the gate on every frame."""
    tracker = FaceTracker()

    def step(image, i):
        result = analyzer.classify_boxes(image, analyzer.detect(image), "", i, timestamp(i))
        return tracker.update(result, analyzer.decisions)

    return step


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
        opened += [e for e in gate.update(r) if e.kind == "opened"]
    assert opened == []
    assert gate.status()["track_id"] == 2


# -- GateEvent --------------------------------------------------------------------------------


def first_event(intensities):
    gate, tracker = SmileGate(), FaceTracker(smoothing_ms=0)
    for i, p in enumerate(intensities):
        faces = () if p is None else (smile_face(200, 100, p, size=120),)
        events = gate.update(tracker.update(frame(i, *faces)))
        if events:
            return events[0]
    raise AssertionError("no event")


def test_events_are_frozen():
    event = first_event([0.9] * 40)
    assert isinstance(event, GateEvent) and event.kind == "opened"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.kind = "denied"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.snapshot = "x.jpg"
    assert isinstance(event.box, tuple) and hash(event) == hash(dataclasses.replace(event))


@pytest.mark.parametrize(
    "intensities, kind, held, reason",
    [
        ([0.9] * 40, "opened", True, False),
        ([0.1] * 130, "denied", False, True),
        ([0.1] * 20 + [None] * 30, "face_lost", False, True),
    ],
)
def test_to_dict_keeps_the_event_log_schema(intensities, kind, held, reason):
    event = first_event(intensities)
    d = event.to_dict()
    assert list(d) == EVENT_KEYS  # no "snapshot" without an event log that saved one
    assert d["event"] == kind and d["frame"] == event.frame and d["track_id"] == 1
    assert d["box"] == [200, 100, 120, 120] and isinstance(d["box"], list)
    assert (d["held_ms"] is not None) == held and (d["reason"] is not None) == reason
    assert json.loads(json.dumps(d)) == d
    d["event"] = "changed"  # a new dict each time: changing it leaves the event as it was
    assert event.to_dict()["event"] == kind


def test_snapshot_is_the_last_key_when_one_was_saved():
    event = GateEvent("opened", 1.0, 2.0, 3, 4, 0.9, 1000.0, (1, 2, 3, 4), None, snapshot="s.jpg")
    assert list(event.to_dict()) == [*EVENT_KEYS, "snapshot"]
    assert event.to_dict()["box"] == [1, 2, 3, 4]


# -- real faces, with the event log -----------------------------------------------------------


def test_event_log_is_complete_with_snapshots(tmp_path, genki_faces, smile_analyzer):
    """Real faces: neutral for 1 s, smiling for 2 s, then the person leaves."""
    log = EventLog(tmp_path / "events.jsonl")
    gate = SmileGate(GateOptions(min_face_px=50), log=log)
    step = tracked(smile_analyzer)
    opened = []
    for i in range(120):
        face = genki_faces["neutral"][0] if i < 30 else genki_faces["smile"][0]
        img = canvas([(face, 200 + i, 100)] if i < 90 else [])
        opened += [(i, e) for e in gate.update(step(img, i), img) if e.kind == "opened"]
    log.close()
    ((opened_at, event),) = opened
    # the smile starts at frame 30; smoothing adds a few frames before P >= 0.6
    assert 60 <= opened_at <= 60 + 6
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [r["event"] for r in rows] == ["opened"]  # leaving after opening is not "face_lost"
    row = rows[0]
    assert list(row) == [*EVENT_KEYS, "snapshot"] and row == event.to_dict()  # the returned event is the line
    assert row["held_ms"] >= 1000 and row["smile_intensity"] >= 0.6 and row["track_id"] == 1
    assert (tmp_path / "events_snapshots").is_dir() and row["snapshot"].endswith(
        f"{opened_at:06d}_opened_1.jpg"
    )
    import cv2

    assert cv2.imread(row["snapshot"]).shape == (480, 640, 3)


def test_denied_and_lost_on_real_neutral_face(tmp_path, genki_faces, smile_analyzer):
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    gate = SmileGate(GateOptions(min_face_px=50, deny_after_s=2.0), log=log)
    step = tracked(smile_analyzer)
    for i in range(120):  # 3 s neutral, then gone
        img = canvas([(genki_faces["neutral"][0], 200, 100)] if i < 90 else [])
        gate.update(step(img, i), img)
    log.close()
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(r["event"], r["frame"]) for r in rows] == [("denied", 60), ("face_lost", 89 + 15)]
    assert all(list(r) == EVENT_KEYS for r in rows)  # snapshots off: no "snapshot" key
