"""The benchmarks as a user meets them: without their data, one line and exit code 2 (no
traceback); without --update-results, the committed results stay untouched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# benchmarks whose inputs live in the shared data folder (each would take minutes with it)
NEEDS_DATA = ["analyze_speed", "emotion7_ensemble", "live_speed", "shipped_models", "smile_intensity", "web_load",
              "web_abuse", "video_memory", "detection_quality", "lab_reproduce", "lab_compare", "augment_throughput",
              "smile_experiments", "valence_experiments", "gpu_teachers_report"]  # fmt: skip


def bench(name: str, *args: str, shared: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRINLAB_SHARED": str(shared), "NO_ALBUMENTATIONS_UPDATE": "1"}
    argv = [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), *args]
    if name == "video_memory":
        argv += ["--shared", str(shared)]
    if name in ("lab_reproduce",):
        argv += ["--data", str(shared / "data" / "fer2013" / "fer2013.csv.xz")]
    if name in ("lab_compare", "augment_throughput"):
        argv += ["--data", str(shared / "data" / "smilesmiled")]
    if name == "smile_experiments":
        argv += ["smile"]
    if name == "emotion7_ensemble":
        argv += [str(REPO / "src" / "grinlab" / "models" / "emotion7.onnx")]
    if name == "detection_quality":
        argv += ["--shared", str(shared)]
    if name == "gpu_teachers_report":
        argv += [str(shared)]  # the folder of a finished GPU call; the data check comes first
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name", NEEDS_DATA)
def test_missing_data_is_one_line(name, tmp_path):
    done = bench(name, "--out", str(tmp_path / "out"), shared=tmp_path / "nowhere")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr and "not found" in lines[-1]
    assert not (tmp_path / "out").exists()


def test_a_run_without_update_results_leaves_the_committed_file(tmp_path):
    committed = REPO / "benchmarks" / "results" / "reliability.md"
    before = hashlib.sha256(committed.read_bytes()).hexdigest()
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "reliability_report.py")],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "pass --update-results to replace benchmarks/results/reliability.md" in done.stderr
    assert hashlib.sha256(committed.read_bytes()).hexdigest() == before
    assert (REPO / "benchmarks" / "work" / "results" / "reliability.md").is_file()
