"""grinlab live / gate end to end on a video made of real faces; clean shutdown on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import cv2

from grinlab.cli import main


def yunet_args(yunet_path):
    return ["--detector", "yunet", "--yunet-model", str(yunet_path), "--models", "smile"]


def test_live_writes_log_video_and_summary(tmp_path, sequence_video, yunet_path, capsys):
    log, video = tmp_path / "live.jsonl", tmp_path / "live.mp4"
    rc = main(["live", str(sequence_video), *yunet_args(yunet_path), "--log", str(log),
               "--out-video", str(video), "--detect-every", "3", "--json"])  # fmt: skip
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 90 and summary["dropped"] == 0 and summary["latency_p99_ms"] > 0
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 90
    assert {f["track_id"] for r in rows for f in r["faces"]} == {1}
    assert rows[0]["faces"][0]["predictions"]["smile"]["label"] == "no_smile"
    assert rows[-1]["faces"][0]["predictions"]["smile"]["label"] == "smile"
    assert set(rows[5]["timings_ms"]) == {"detect", "follow", "align", "classify", "track", "total"}
    assert sum(r["timings_ms"]["follow"] > 0 for r in rows) >= 50  # 2 of every 3 frames followed
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 90
    cap.release()


def test_live_never_overwrites_an_earlier_log_without_force(tmp_path, sequence_video, yunet_path, capsys):
    log = tmp_path / "live.jsonl"
    log.write_text('{"earlier": "run"}\n')
    assert main(["live", str(sequence_video), *yunet_args(yunet_path), "--log", str(log)]) == 2
    assert "exists" in capsys.readouterr().err and log.read_text() == '{"earlier": "run"}\n'
    assert main(["live", str(sequence_video), *yunet_args(yunet_path), "--log", str(log), "--force",
                 "--max-frames", "3"]) == 0  # fmt: skip
    assert len(log.read_text().splitlines()) == 3


def test_gate_cli_opens_for_the_smile_and_logs_it(tmp_path, sequence_video, yunet_path, capsys):
    config = tmp_path / "gate.toml"
    assert main(["gate", "--write-config", str(config)]) == 0
    text = config.read_text().replace("min_face_px = 80", "min_face_px = 50")
    config.write_text(text + "\n")
    events = tmp_path / "events.jsonl"
    rc = main(["gate", str(sequence_video), *yunet_args(yunet_path), "--config", str(config),
               "--events", str(events)])  # fmt: skip
    assert rc == 0
    rows = [json.loads(line) for line in events.read_text().splitlines()]
    assert [r["event"] for r in rows] == ["opened"]  # the smile starts at frame 30 and is held 2 s
    assert 60 <= rows[0]["frame"] <= 66 and (tmp_path / "events_snapshots").is_dir()
    assert "1 opened" in capsys.readouterr().out


def test_gate_cli_refuses_to_overwrite_a_config_and_needs_a_source(tmp_path, capsys):
    config = tmp_path / "gate.toml"
    config.write_text("")
    assert main(["gate", "--write-config", str(config)]) == 2
    assert main(["gate"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"grinlab gate: error: {config} exists; remove it or choose another name",
                   "grinlab gate: error: give a SOURCE (camera index, video file or stream URL), or --write-config FILE"]  # fmt: skip


def test_bad_sources_give_one_line_and_exit_2(tmp_path):
    for source, expected in [("57", "camera 57 cannot be opened"), (str(tmp_path / "x.mp4"), "no such video file"),
                             ("http://127.0.0.1:9/cam.mjpg", "cannot open this stream")]:  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "grinlab", "live", source, "--models", "smile"],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [done.stderr.strip()] and expected in done.stderr


def test_ctrl_c_stops_cleanly_with_the_log_flushed(tmp_path, long_video, yunet_path):
    log = tmp_path / "live.jsonl"
    # Python leaves Ctrl-C ignored when it starts with SIGINT ignored, as every job a script starts
    # with & does (some CI runners), so the child installs the handler a terminal would give it.
    argv = ["grinlab", "live", str(long_video), "--realtime", *yunet_args(yunet_path), "--log", str(log)]
    child = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"sys.argv = {argv!r}; runpy.run_module('grinlab', run_name='__main__')"
    )
    proc = subprocess.Popen([sys.executable, "-c", child],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 10):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted after" in err and str(log) in err
    rows = [json.loads(line) for line in log.read_text().splitlines()]  # every line complete
    assert 10 <= len(rows) < 600
    assert "frames in" in out


def test_gate_writes_its_events_to_a_new_folder_per_run_not_the_current_one(
    tmp_path, sequence_video, yunet_path, capsys, monkeypatch
):
    monkeypatch.setenv("GRINLAB_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["gate", str(sequence_video), *yunet_args(yunet_path), "--max-frames", "5"]) == 0
    (log,) = (tmp_path / "home" / "gate").glob("*/events.jsonl")
    assert f"gate events: {log}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # nothing in the current folder
