"""The gate's event log (grinlab.io.event_log): JSON lines through io.jsonl.JsonlWriter, appended
across runs, with snapshots named <frame>_<event>_<track id>.jpg beside it."""

from __future__ import annotations

import json

import numpy as np

from grinlab.io.event_log import EventLog


def test_the_log_grows_across_runs_and_ignores_late_writes(tmp_path):
    path = tmp_path / "gate" / "events.jsonl"  # the folder is made
    with EventLog(path, snapshots=False) as log:
        log.write({"event": "opened", "frame": 1})
    log.write({"event": "action", "frame": 1})  # a late action thread after close: dropped
    second = EventLog(path, snapshots=False)
    second.write({"event": "denied", "frame": 7})
    second.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows == [{"event": "opened", "frame": 1}, {"event": "denied", "frame": 7}]
    assert (log.count, second.count) == (1, 1)


def test_snapshots_beside_the_log_keep_their_names(tmp_path):
    image = np.full((48, 64, 3), 90, np.uint8)
    log = EventLog(tmp_path / "door.jsonl")
    assert log.save_snapshot(42, "opened", 3, None) is None  # no frame, no snapshot
    path = log.save_snapshot(42, "opened", 3, image)
    log.close()
    assert path == str(tmp_path / "door_snapshots" / "000042_opened_3.jpg")
    off = EventLog(tmp_path / "quiet.jsonl", snapshots=False)
    assert off.save_snapshot(42, "opened", 3, image) is None and off.snapshot_dir is None
    off.close()
    assert not (tmp_path / "quiet_snapshots").exists()
