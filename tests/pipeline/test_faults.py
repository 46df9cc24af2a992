"""Faults, for real: ``grinlab analyze`` killed with SIGKILL mid-folder and mid-video, then
``--resume``, gives exactly the rows and files of an uninterrupted run; ``--resume`` refuses other
options; a full disk (a small tmpfs as ``--out``) is one error line and leaves finished rows
readable. (A training run killed with SIGKILL resumes: tests/test_cli_train.py.)"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from test_analyze import make_video

from grinlab.cli import main

pytestmark = pytest.mark.slow
BASE = ["--detector", "haar", "--models", "smile", "emotion7", "--csv"]


def grinlab(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "GRINLAB_NO_PROGRESS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    return subprocess.Popen([sys.executable, "-m", "grinlab", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)  # fmt: skip


def kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds; fail if it finished first."""
    t0 = time.monotonic()
    while not ready():
        assert proc.poll() is None, "the run finished before it could be killed: give it more work"
        assert time.monotonic() - t0 < timeout, "the run never got there"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k != "timings_ms"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def outputs(out: Path) -> dict:
    """What a run leaves, timing fields aside: rows in order, done list, annotated files."""
    jsonl = [without_timings(json.loads(x)) for x in (out / "results.jsonl").read_text().splitlines()]
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    annotated = sorted(str(p.relative_to(out)) for p in (out / "annotated").rglob("*") if p.is_file())
    return {"jsonl": jsonl, "csv": rows, "done": (out / "done.txt").read_text().splitlines(),
            "annotated": annotated}  # fmt: skip


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, photos_dir):
    """36 real photos (the test photos three times, in three sub-folders)."""
    root = tmp_path_factory.mktemp("photos") / "in"
    files = sorted(p for p in photos_dir.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    for k in range(3):
        for p in files:
            (root / f"set{k}").mkdir(parents=True, exist_ok=True)
            shutil.copy(p, root / f"set{k}" / p.name)
    return root


def test_killed_mid_folder_then_resume_gives_the_uninterrupted_rows(photo_folder, tmp_path):
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["analyze", str(photo_folder), "--out", str(ref), *BASE]) == 0
    proc = grinlab("analyze", str(photo_folder), "--out", str(out), *BASE)
    kill_when(proc, lambda: lines(out / "done.txt") >= 5)
    done_before = lines(out / "done.txt")
    resumed = grinlab("analyze", str(photo_folder), "--out", str(out), *BASE, "--resume")
    stdout, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    # the input being written when killed is redone (its rows were dropped), the rest skipped
    assert f"{done_before} already done (resume)" in stdout
    assert outputs(out) == outputs(ref)
    assert not list(out.rglob("*.part*")) and not list(out.rglob("*.tmp"))


def test_killed_mid_video_then_resume_gives_the_uninterrupted_rows(tmp_path, photos_dir):
    video = tmp_path / "clip.avi"
    make_video(video, photos_dir, frames=120)
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(["analyze", str(video), "--out", str(ref), *BASE]) == 0
    proc = grinlab("analyze", str(video), "--out", str(out), *BASE)
    kill_when(proc, lambda: lines(out / "results.jsonl") >= 30)
    assert lines(out / "done.txt") == 0  # killed inside the video
    resumed = grinlab("analyze", str(video), "--out", str(out), *BASE, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert outputs(out) == outputs(ref)
    cap = cv2.VideoCapture(str(out / "annotated" / "clip.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 120  # the annotated video is whole
    cap.release()


def test_resume_refuses_other_options(photos_dir, tmp_path, capsys):
    photo = str(photos_dir / "astronaut.png")
    out = tmp_path / "out"
    assert main(["analyze", photo, "--out", str(out), *BASE]) == 0
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["detector"] == "haar" and set(recorded["models"]) == {"smile", "emotion7"}
    assert all(len(sha) == 64 for sha in recorded["models"].values())
    capsys.readouterr()
    for changed in (["--flip-tta"], ["--every", "2"], ["--no-annotate"]):
        assert main(["analyze", photo, "--out", str(out), *BASE, *changed, "--resume"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--resume with other options" in err[0] and "--force" in err[0]
    assert main(["analyze", photo, "--out", str(out), "--detector", "haar", "--models", "smile", "--csv",
                 "--resume"]) == 2  # fmt: skip
    assert "models was" in capsys.readouterr().err
    assert main(["analyze", photo, "--out", str(out), *BASE, "--resume"]) == 0  # same options: fine


@pytest.fixture
def small_disk(tmp_path):
    """A 400 KiB tmpfs: room for a few rows and one annotated photo, not for the whole run."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here to make a small tmpfs")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_a_full_disk_is_one_line_and_finished_rows_stay_readable(photo_folder, small_disk, tmp_path):
    out = small_disk / "out"
    run = grinlab("analyze", str(photo_folder / "set0"), "--out", str(out), *BASE)
    stdout, err = run.communicate(timeout=300)
    assert run.returncode == 2, stdout + err
    assert len(err.strip().splitlines()) == 1 and "the disk is full" in err and "--resume" in err
    done = (out / "done.txt").read_text().splitlines()
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert {r["source"] for r in rows} >= set(done)  # every finished input's rows are there and parse
    # moved to a disk with room, the run finishes with the rows an uninterrupted run writes
    moved, ref = tmp_path / "moved", tmp_path / "ref"
    shutil.copytree(out, moved)
    assert main(["analyze", str(photo_folder / "set0"), "--out", str(moved), *BASE, "--resume"]) == 0
    assert main(["analyze", str(photo_folder / "set0"), "--out", str(ref), *BASE]) == 0
    assert outputs(moved) == outputs(ref)


def test_a_video_over_the_pixel_limit_is_an_error_row_and_nothing_is_decoded(tmp_path, photos_dir):
    video = tmp_path / "clip.avi"
    make_video(video, photos_dir, frames=3)  # 640x480
    out = tmp_path / "out"
    assert main(["analyze", str(video), "--out", str(out), *BASE, "--max-pixels", "300000"]) == 1
    (row,) = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert "640x480 frames are over the limit of 300,000 pixels" in row["error"]
