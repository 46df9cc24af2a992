"""``grinlab train`` and ``grinlab export`` through grinlab.cli.main on a small real image folder."""

from __future__ import annotations

import json
import shutil

import pytest

from grinlab.cli import main
from grinlab.modelcard import ModelCard


@pytest.fixture(scope="module")
def smile_folder(smilesmiled_dir, tmp_path_factory):
    """<root>/{train,test}/{smile,no_smile}/*.jpg copied from SMILEsmileD (80 + 20 per class)."""
    root = tmp_path_factory.mktemp("smiles")
    for label, folder in (("no_smile", "negatives/negatives7"), ("smile", "positives/positives7")):
        files = sorted((smilesmiled_dir / "SMILEs" / folder).glob("*.jpg"))[:100]
        for split, chunk in (("train", files[:80]), ("test", files[80:])):
            (root / split / label).mkdir(parents=True)
            for f in chunk:
                shutil.copy(f, root / split / label / f.name)
    return root


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_train_then_export(smile_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRINLAB_NO_PROGRESS", "1")
    run = tmp_path / "run"
    argv = [
        "train",
        "--data",
        str(smile_folder),
        "--task",
        "smile",
        "--model",
        "simple_cnn",
        "--out",
        str(run),
    ]
    argv += [
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--augment",
        "standard",
        "--lr",
        "0.003",
        "--evaluate-test",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("epochs 2;") and str(run) in out[-1] and "test acc" in out[-1]
    info = json.loads((run / "config.json").read_text())
    assert info["command"].startswith("grinlab train --data") and "--evaluate-test" in info["command"]
    assert info["datasets"]["test"]["size"] == 40
    results = json.loads((run / "results.json").read_text())
    assert set(results) == {"val", "test"} and results["test"]["n"] == 40

    # resume a finished run for one more epoch: only the new epoch is trained
    assert main(["train", "--out", str(run), "--resume", "--epochs", "3"]) == 0
    assert (run / "metrics.jsonl").read_text().count("\n") == 3

    model = tmp_path / "models" / "smile.onnx"
    assert main(["export", str(run), "--out", str(model), "--name", "tiny-smile"]) == 0
    assert "parity" in capsys.readouterr().out
    card = ModelCard.load(model.with_suffix(".json"))
    assert card.name == "tiny-smile"
    assert card.command == f"{info['command']}\nexport: grinlab export {run} --out {model} --name tiny-smile"
    assert main(["export", str(run), "--out", str(model)]) == 2
    assert "exists; pass --force" in one_error_line(capsys)
    assert main(["export", str(run), "--out", str(model), "--branch", str(run)]) == 2
    assert "--branch and --gate-label go together" in one_error_line(capsys)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--data": "/nonexistent/smiles"}, "dataset path not found"),
        ({"--model": "no_such_net"}, "unknown model 'no_such_net'"),
        ({"--task": "joy"}, "unknown task 'joy'"),
        ({"--optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"--teacher": "emotion7"}, "a teacher must have exactly the task's labels"),
        ({"--teacher": "/nonexistent/t.onnx"}, "model file not found"),
        ({"--distill-weight": "0.7"}, "need a --teacher MODEL"),
        ({"--data-option": "ferplus"}, "--data-option must be KEY=VALUE, got 'ferplus'"),
        (
            {"--data-option": "label_mod=blend"},
            "no dataset of this run takes --data-option label_mod (image_folder takes",
        ),
    ],
)
def test_bad_inputs_exit_2_with_one_line(smile_folder, tmp_path, capsys, change, message):
    args = {
        "--data": str(smile_folder),
        "--task": "smile",
        "--model": "simple_cnn",
        "--out": str(tmp_path / "r"),
    }
    args.update(change)
    assert main(["train", *[w for kv in args.items() for w in kv]]) == 2
    line = one_error_line(capsys)
    assert line.startswith("grinlab train: error:") and message in line
    assert not (tmp_path / "r").exists()


def test_missing_required_options(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--task", "smile"]) == 2
    assert "missing --data, --model" in one_error_line(capsys)


def test_existing_run_folder_is_left_untouched(smile_folder, tmp_path, capsys):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"epoch": 1}\n')
    (run / "checkpoints" / "last.pt").write_bytes(b"not really")
    before = snapshot(run)
    argv = [
        "train",
        "--data",
        str(smile_folder),
        "--task",
        "smile",
        "--model",
        "simple_cnn",
        "--out",
        str(run),
    ]
    assert main(argv) == 2
    assert "exists; pass --resume to continue it or --force to overwrite" in one_error_line(capsys)
    assert snapshot(run) == before
    assert main(["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "checkpoint not found" in one_error_line(capsys)


def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(smile_folder, tmp_path):
    """`kill -9` in the middle of an epoch, then `grinlab train --resume`: the weights of an
    uninterrupted run, bit for bit (last.pt holds the optimiser, scheduler and RNG states)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch

    args = ["--data", str(smile_folder), "--task", "smile", "--model", "simple_cnn", "--epochs", "4",
            "--batch-size", "8", "--augment", "standard", "--scheduler", "cosine", "--seed", "3"]  # fmt: skip
    env = {**os.environ, "GRINLAB_NO_PROGRESS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    assert main(["train", *args, "--out", str(tmp_path / "whole")]) == 0
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "grinlab", "train", *args, "--out", str(run)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= 1):  # epoch 1 done, epoch 2 running
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it was killed"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert metrics.read_text().count("\n") < 4
    assert main(["train", "--out", str(run), "--resume"]) == 0
    a = torch.load(tmp_path / "whole" / "checkpoints" / "last.pt", weights_only=False)["model"]
    b = torch.load(run / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_data_options_read_json_values_and_keep_text():
    from grinlab.cli.options import data_options

    got = data_options(["ferplus_weight=0.3", "ferplus=../x/fer2013new.csv", "cache=false"], {"usage": "x"})
    assert got == {"usage": "x", "ferplus_weight": 0.3, "ferplus": "../x/fer2013new.csv", "cache": False}


def test_export_reads_the_test_split_once_for_the_file_it_ships(smile_folder, tmp_path, capsys, monkeypatch):
    """A run chooses its checkpoint on val without reading test; the shipped file's export does."""
    monkeypatch.setenv("GRINLAB_NO_PROGRESS", "1")
    run = tmp_path / "run"
    common = ["--task", "smile", "--model", "simple_cnn", "--epochs", "1", "--batch-size", "32"]
    assert main(["train", "--data", str(smile_folder), *common, "--out", str(run)]) == 0
    assert set(json.loads((run / "results.json").read_text())) == {"val"}
    for extra in ([], ["--int8"]):
        model = tmp_path / f"m{len(extra)}.onnx"
        assert main(["export", str(run), "--out", str(model), "--evaluate-test", *extra]) == 0
        assert "test: accuracy" in capsys.readouterr().out
        card = ModelCard.load(model.with_suffix(".json"))
        assert card.metrics["test"]["n"] == 40 and 0.0 <= card.metrics["test"]["accuracy"] <= 1.0
        assert card.dataset["splits"]["test"]["size"] == 40  # what `grinlab models` names the figure by
        assert "--evaluate-test" in card.command.splitlines()[-1]  # the export line says it read test
    no_test = tmp_path / "no_test"
    shutil.copytree(smile_folder / "train", no_test / "train")
    assert main(["train", "--data", str(no_test), *common, "--out", str(tmp_path / "r2")]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "r2"), "--out", str(tmp_path / "x.onnx"), "--evaluate-test"]) == 2
    assert "has no test split" in one_error_line(capsys)
    assert not (tmp_path / "x.onnx").exists()
