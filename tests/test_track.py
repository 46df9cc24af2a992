"""Tracking and smoothing: stable ids through motion, no single-frame flicker, box following."""

from __future__ import annotations

import pytest
from sequences import canvas, frame, smile_face, timestamp

from grinlab.errors import GrinlabError
from grinlab.track import FaceTracker, TrackerOptions, follow_boxes

# -- unit: synthetic boxes --------------------------------------------------------------------


def test_ids_follow_two_faces_moving_past_each_other_vertically():
    tracker = FaceTracker()
    seen = {}
    for i in range(60):  # 6 px per frame each way: 360 px over 2 s, crossing the same columns
        r = tracker.update(frame(i, smile_face(20 + 6 * i, 20, 0.1), smile_face(380 - 6 * i, 300, 0.9)))
        for f in r.faces:
            seen.setdefault(f.box.y, set()).add(f.track_id)
    assert seen == {20: {1}, 300: {2}}


def test_a_face_gone_longer_than_max_missed_comes_back_with_a_new_id():
    tracker = FaceTracker(max_missed_ms=200)
    assert tracker.update(frame(0, smile_face(100, 100, 0.1))).faces[0].track_id == 1
    assert tracker.update(frame(3, smile_face(100, 100, 0.1))).faces[0].track_id == 1  # 100 ms gap: kept
    assert tracker.update(frame(12, smile_face(100, 100, 0.1))).faces[0].track_id == 2  # 300 ms gap


def test_smoothing_ignores_a_one_frame_flip_but_follows_a_held_change():
    tracker = FaceTracker()
    raw = [0.05] * 10 + [0.95] + [0.05] * 10 + [0.95] * 15
    labels = [tracker.update(frame(i, smile_face(100, 100, p))).faces[0].predictions["smile"].label
              for i, p in enumerate(raw)]  # fmt: skip
    assert labels[10] == "no_smile"  # the one-frame smile is smoothed away
    assert labels[:21] == ["no_smile"] * 21
    assert labels[-1] == "smile"
    switch = labels.index("smile")
    assert 21 < switch <= 21 + 6  # a held smile shows within 200 ms at 30 fps
    assert labels[switch:] == ["smile"] * (len(labels) - switch)  # and does not flicker back


def test_hysteresis_keeps_the_label_while_probabilities_hover_near_one_half():
    tracker = FaceTracker(smoothing_ms=0, hysteresis=0.1)
    raw = [0.9, 0.52, 0.48, 0.53, 0.47, 0.51, 0.40]
    labels = [tracker.update(frame(i, smile_face(100, 100, p))).faces[0].predictions["smile"].label
              for i, p in enumerate(raw)]  # fmt: skip
    assert labels == ["smile"] * 6 + ["no_smile"]


def test_smoothing_depends_on_time_not_on_frame_count():
    fast, slow = FaceTracker(), FaceTracker()
    fast.update(frame(0, smile_face(100, 100, 0.0)))
    slow.update(frame(0, smile_face(100, 100, 0.0)))
    for i in range(1, 11):  # 10 frames at 30 fps
        a = fast.update(frame(i, smile_face(100, 100, 1.0))).faces[0].smile_intensity
    b = slow.update(frame(10, smile_face(100, 100, 1.0))).faces[0].smile_intensity  # one frame, same time
    assert a == pytest.approx(b, abs=1e-9)


def test_bad_tracker_options_are_user_errors():
    with pytest.raises(GrinlabError, match="iou_threshold"):
        TrackerOptions(iou_threshold=0)
    with pytest.raises(GrinlabError, match="smoothing_ms"):
        TrackerOptions(smoothing_ms=-1)


# -- real photos ------------------------------------------------------------------------------


def two_faces(genki_faces, i, smiling_at=()):
    a = genki_faces["smile"][1] if i in smiling_at else genki_faces["neutral"][0]
    return canvas([(a, 20 + 3 * i, 20 + i), (genki_faces["neutral"][1], 430 - 3 * i, 260)])


@pytest.mark.parametrize("detect_every", [1, 4])
def test_ids_stay_stable_on_real_faces_in_motion(smile_analyzer, genki_faces, detect_every):
    pipe = smile_analyzer.session(detect_every=detect_every)
    ids_by_side = {"left": set(), "right": set()}
    for i in range(60):  # 3 px and 1 px per frame: 180 px over 2 s
        r = pipe.process(two_faces(genki_faces, i), timestamp(i), i)
        assert len(r.faces) == 2, f"frame {i}: {len(r.faces)} faces"
        for f in r.faces:
            ids_by_side["left" if f.box.y < 200 else "right"].add(f.track_id)
    assert ids_by_side == {"left": {1}, "right": {2}} or ids_by_side == {"left": {2}, "right": {1}}


def test_smoothing_removes_a_one_frame_smile_on_real_faces(smile_analyzer, genki_faces):
    """Frame 15 shows a smiling face in place of the neutral one for one frame: the raw model says
    smile on that frame; the smoothed label does not change."""
    pipe = smile_analyzer.session()
    raw_labels, shown = [], []
    for i in range(30):
        img = two_faces(genki_faces, i, smiling_at={15})
        raw = smile_analyzer.analyze(img)
        r = pipe.process(img, timestamp(i), i)
        top = min(r.faces, key=lambda f: f.box.y)
        raw_top = min(raw.faces, key=lambda f: f.box.y)
        raw_labels.append(raw_top.predictions["smile"].label)
        shown.append(top.predictions["smile"].label)
    assert raw_labels[15] == "smile" and raw_labels.count("smile") == 1
    assert shown == ["no_smile"] * 30


def test_follow_boxes_keeps_up_with_the_detector(smile_analyzer, genki_faces):
    prev = two_faces(genki_faces, 0)
    boxes = smile_analyzer.detect(prev)
    for i in range(1, 12):  # follow only, never re-detect: drift stays small over 11 frames
        cur = two_faces(genki_faces, i)
        boxes = follow_boxes(prev, cur, boxes)
        truth = smile_analyzer.detect(cur)
        assert len(boxes) == 2
        for b in boxes:
            assert max(b.iou(t) for t in truth) > 0.7
        prev = cur


def test_follow_boxes_drops_a_face_that_left(smile_analyzer, genki_faces):
    prev = two_faces(genki_faces, 0)
    boxes = smile_analyzer.detect(prev)
    empty = canvas([])
    assert follow_boxes(prev, empty, boxes) == []
