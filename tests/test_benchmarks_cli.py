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
              "smile_experiments", "valence_experiments", "gpu_teachers_report", "valence_pose", "framing"]  # fmt: skip


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


def test_the_gpu_report_reads_each_calls_timing_runs_and_profile_columns(tmp_path):
    # a call's runs as gpu_teachers.sh leaves them: the compiled timing run beside the two paths,
    # and an older call without it; each GPU path's speed-up is over the same call's CPU path
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_teachers_report as report
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    from grinlab.train.run_folder import append_metrics

    def call(folder: Path, paces: dict) -> dict:
        for on, per_s in paces.items():
            run = folder / report.RUNS / f"speed_{on}"
            run.mkdir(parents=True)
            for epoch, images in enumerate((100.0, per_s, per_s), start=1):  # epoch 1 is left out
                row = {"epoch": epoch, "seconds": 28698 / images, "images_per_s": images}
                append_metrics(
                    run, {**row, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.0, "val_acc": 0.5}
                )
        return report.speed(folder / report.RUNS)

    new = call(tmp_path / "new", {"cpu": 4000.0, "device": 10000.0, "device_compiled": 20000.0})
    old = call(tmp_path / "old", {"cpu": 4000.0, "device": 5000.0})
    assert new["device_compiled"]["speedup"] == 5.0 and new["device"]["speedup"] == 2.5
    assert set(old) == {"cpu", "device"} and "speedup" not in old["cpu"]
    profile = {"device": "H200", "batch_size": 128, "preset": "standard", "augment_ms": 1.0,
               "models": {"vgg_paper": {"before_ms": 7.0, "now_ms": 6.0, "now_compiled_ms": 2.0}}}  # fmt: skip
    text = report.markdown(
        {"setup": "s", "rows": [], "speed": {"new": new, "old": old}, "step_profile": {"new": profile}}
    )
    assert "| new | device, --compile reduce-overhead | 3 | " in text and "| 20000 | 5.0 |" in text
    assert "| model | step before | step now | + compile reduce-overhead |" in text
    assert "| vgg_paper | 7.0 | 6.0 | 2.0 |" in text


def test_framing_refuses_a_model_of_another_task_before_any_detection(facehack_dir, yunet_path, tmp_path):
    # the label-free part runs YuNet on thousands of crops first: a wrong --model must not wait for it
    shared = facehack_dir.parent.parent
    smile = REPO / "src" / "grinlab" / "models" / "smile.onnx"
    done = bench(
        "framing", "--case", "valence", "--model", str(smile), "--out", str(tmp_path / "out"), shared=shared
    )
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip().splitlines()[-1]
        == "framing.py: smile is for task smile; case valence needs a valence model"
    )
    assert not (tmp_path / "out.md").exists()


def test_int8_choices_says_in_one_line_that_a_folder_is_not_a_run(tmp_path):
    (tmp_path / "not_a_run").mkdir()
    done = bench("int8_choices", str(tmp_path / "not_a_run"), "--out", str(tmp_path / "out"), shared=tmp_path)
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip().splitlines()[-1].startswith("int8_choices.py: ")
        and "checkpoint not found" in done.stderr
    )


def test_valence_pose_says_in_one_line_that_a_folder_has_no_valence_labels(
    smilesmiled_dir, yunet_path, tmp_path
):
    done = bench("valence_pose", "--data", str(smilesmiled_dir), "--out", str(tmp_path / "out"),
                 shared=smilesmiled_dir.parent.parent)  # fmt: skip
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip().splitlines()[-1].startswith("valence_pose.py: smilesmiled has smile / no_smile")
    )


def test_a_previous_export_of_a_shipped_model_gets_a_row_of_its_own():
    # found 2026-11-29: the previous emotion8 passed with --also kept its card's name "emotion8", and
    # its rows replaced the new shipped file's, marked as shipped
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from shipped_models import also_row_name
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    previous = Path("benchmarks/work/previous_int8/emotion8_2026-11-28.onnx")
    assert also_row_name("emotion8", previous, {"emotion7", "emotion8"}) == str(previous)
    assert also_row_name("emotion8_float", Path("emotion8_e60.onnx"), {"emotion8"}) == "emotion8_float"


@pytest.mark.parametrize("card", [None, "{"])
def test_shipped_models_says_in_one_line_that_an_also_file_has_no_usable_card(fer2013_csv, tmp_path, card):
    model = tmp_path / "previous.onnx"
    model.write_bytes(b"not onnx")
    if card is not None:
        model.with_suffix(".json").write_text(card)
    shared = fer2013_csv.parent.parent.parent
    done = bench("shipped_models", "--models", "emotion8", "--also", str(model), "--out", str(tmp_path / "out"),
                 shared=shared)  # fmt: skip
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"shipped_models.py: --also {tmp_path / 'previous.json'}: ")
    )
