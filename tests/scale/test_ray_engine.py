"""``grinlab analyze --engine ray`` on real photos and a real video, against the single-process
runner: the same rows, files and order; a worker killed mid-job and a driver killed and rerun
leave every row exactly once; an unreachable cluster is one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="needs the ray extra: pip install 'grinlab[ray]'")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from test_analyze import make_video  # noqa: E402
from test_faults import outputs  # noqa: E402

pytestmark = pytest.mark.slow
BASE = ["--detector", "haar", "--models", "smile", "emotion7", "--csv"]


def grinlab(*args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "GRINLAB_NO_PROGRESS": "1",
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    return subprocess.Popen([sys.executable, "-m", "grinlab", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """The run's stdout; exit code 1 is expected: the inputs hold one corrupt photo."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 1 and "broken.jpg" in err, err[-2000:]
    return out


def done_parts(out: Path) -> int:
    return len(list((out / "parts").glob("*.done"))) if (out / "parts").is_dir() else 0


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, photos_dir):
    """Photos in a folder (one of them corrupt) and a 90-frame 640x480 video of real photos."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "photos").mkdir()
    for p in (
        "astronaut.png",
        "white_house/obama.jpg",
        "white_house/biden.jpg",
        "dlib_faces/2008_002470.jpg",
    ):
        shutil.copy(photos_dir / p, root / "photos" / Path(p).name)
    (root / "photos" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")  # an error row; the job goes on
    make_video(root / "clip.avi", photos_dir, frames=90)
    return [str(root / "photos"), str(root / "clip.avi")]


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    finish(grinlab("analyze", *inputs, "--out", str(out), *BASE, "--every", "2"))
    return outputs(out)


def test_ray_gives_the_single_process_rows_and_files(inputs, reference, tmp_path):
    out = tmp_path / "ray"
    printed = finish(grinlab("analyze", *inputs, "--out", str(out), *BASE, "--every", "2", "--engine", "ray",
                             "--workers", "2", "--chunk-frames", "25", "--parquet"))  # fmt: skip
    assert outputs(out) == reference  # rows (timings aside), the corrupt photo's error row, CSV, files
    assert len(list((out / "parts").glob("*.done"))) == 5 + 4  # 5 photos, the video in 4 ranges
    import pyarrow.parquet as pq

    table = pq.read_table(out / "results.parquet")  # one file per input, partitioned input=<path>
    assert table.num_rows == len(reference["csv"]) and len(set(table.column("input").to_pylist())) == 6
    assert (out / "timeline" / "clip.png").is_file() and "clip.avi: 45 frame(s) analysed" in printed
    import cv2

    cap = cv2.VideoCapture(str(out / "annotated" / "clip.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 45  # every 2nd of 90 frames, ranges joined
    cap.release()


def test_a_killed_driver_resumes_without_duplicates(inputs, reference, tmp_path):
    out = tmp_path / "ray"
    args = ["analyze", *inputs, "--out", str(out), *BASE, "--every", "2", "--engine", "ray", "--workers", "1",
            "--chunk-frames", "10"]  # fmt: skip
    proc = grinlab(*args)
    deadline = time.monotonic() + 240
    while done_parts(out) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "the job ended before it was killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "parts").glob("*.done")}
    finish(grinlab(*args, "--resume"))
    assert outputs(out) == reference
    after = {p.name: p.stat().st_mtime_ns for p in (out / "parts").glob("*.done")}
    assert all(after[k] == v for k, v in before.items())  # finished parts were not redone


def test_a_killed_worker_is_retried_and_every_row_is_there_once(inputs, reference, tmp_path):
    out = tmp_path / "ray"
    proc = grinlab("analyze", *inputs, "--out", str(out), *BASE, "--every", "2", "--engine", "ray",
                   "--workers", "2", "--chunk-frames", "10")  # fmt: skip
    deadline = time.monotonic() + 240
    while done_parts(out) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the job ended before a worker was killed"
        time.sleep(0.05)
    pids = [json.loads(p.read_text())["pid"] for p in (out / "parts").glob("*.done")]
    os.kill(pids[0], signal.SIGKILL)  # a worker actor mid-job (it had started its next part)
    finish(proc)
    assert outputs(out) == reference


def test_an_unreachable_address_is_one_line(inputs, tmp_path):
    proc = grinlab(
        "analyze", inputs[0], "--out", str(tmp_path / "o"), "--engine", "ray", "--address", "127.0.0.1:1"
    )
    _, err = proc.communicate(timeout=120)
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1, err[-2000:]
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in lines[0]


@pytest.fixture
def two_nodes(tmp_path):
    """A Ray cluster of two nodes on this machine, each with one CPU: a head and a worker started
    with `ray start`, as on two machines (token auth, as Ray 2.5x+ requires for a joining node)."""
    import secrets
    import socket

    ray_cli = str(Path(sys.executable).with_name("ray"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
    }
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    subprocess.run([ray_cli, "start", "--head", "--port", str(port), "--include-dashboard", "false", *common],
                   env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
    try:
        subprocess.run([ray_cli, "start", "--address", f"127.0.0.1:{port}", *common], env=env, check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_a_two_node_cluster_runs_the_job_on_both_nodes(inputs, reference, two_nodes, tmp_path):
    address, env = two_nodes
    out = tmp_path / "ray"
    args = [sys.executable, "-m", "grinlab", "analyze", *inputs, "--out", str(out), *BASE, "--every", "2",
            "--engine", "ray", "--address", address, "--workers", "2", "--chunk-frames", "10"]  # fmt: skip
    done = subprocess.run(args, env={**env, "GRINLAB_NO_PROGRESS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"},
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1 and "broken.jpg" in done.stderr, done.stderr[-2000:]
    nodes = {json.loads(p.read_text())["node"] for p in (out / "parts").glob("*.done")}
    assert len(nodes) == 2  # one actor per one-CPU node
    assert outputs(out) == reference
