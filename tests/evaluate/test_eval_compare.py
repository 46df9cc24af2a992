"""grinlab compare on run folders written in the trainer's format (config.json, metrics.jsonl,
results.json, report/summary.json)."""

from __future__ import annotations

import csv
import json

import pytest

from grinlab.cli import main
from grinlab.errors import GrinlabError
from grinlab.evaluate.compare import COLUMNS, compare_runs


def _fake_run(path, model, val_losses, test=None, monitor="val_loss", ms=None):
    path.mkdir(parents=True)
    (path / "config.json").write_text(
        json.dumps({"model": model, "params": 77682, "config": {"monitor": monitor}, "classes": ["a", "b"]})
    )
    rows = [
        {"epoch": i + 1, "train_loss": v * 0.9, "train_acc": 0.7 + i / 100, "val_loss": v, "val_acc": 1 - v,
         "val_macro_f1": 0.9 - v, "lr": 1e-3, "seconds": 2.0, "images_per_s": 100.0 + 10 * i}
        for i, v in enumerate(val_losses)
    ]  # fmt: skip
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if test is not None:
        results = {"val": {"accuracy": 0.77, "macro_f1": 0.75}, "test": {"accuracy": test}}
        (path / "results.json").write_text(json.dumps(results))
    if ms is not None:
        (path / "report").mkdir()
        (path / "report" / "summary.json").write_text(json.dumps({"ms_per_face": ms, "accuracy": 0.77}))
    return path


@pytest.fixture
def runs(tmp_path):
    a = _fake_run(tmp_path / "a", "simple_cnn", [0.5, 0.3, 0.4], test=0.81, ms=0.123456)
    b = _fake_run(tmp_path / "b", "vgg_small", [0.6, 0.5, 0.2], monitor="val_acc")
    return a, b


def test_rows(runs):
    a, b = compare_runs(runs, time_onnx=False)
    assert list(a) == COLUMNS
    assert a["run"] == "a" and a["model"] == "simple_cnn" and a["params"] == 77682 and a["epochs"] == 3
    assert a["best_epoch"] == 2 and a["min_val_loss"] == 0.3
    assert a["val_acc"] == 0.77 and a["val_macro_f1"] == 0.75  # best.pt's own evaluation wins
    assert a["train_loss"] == pytest.approx(0.36) and a["train_acc"] == 0.72  # the last epoch
    assert a["train_img_per_s"] == 110.0 and a["ms_per_face"] == 0.1235 and a["test_acc"] == 0.81
    # monitored by accuracy, no results.json: the best epoch's own row
    assert b["best_epoch"] == 3 and b["val_acc"] == 0.8 and b["val_macro_f1"] == 0.7
    assert b["test_acc"] is None and b["ms_per_face"] is None and b["onnx_ms_per_face"] is None


def test_a_run_monitored_by_macro_f1_reports_that_epoch(tmp_path):
    run = _fake_run(tmp_path / "c", "resnet_tiny", [0.2, 0.5, 0.4], monitor="val_macro_f1")
    (row,) = compare_runs([run], time_onnx=False)
    assert row["best_epoch"] == 1 and row["val_macro_f1"] == pytest.approx(0.7)


def test_cli_writes_markdown_and_csv(runs, tmp_path, capsys):
    md, table = tmp_path / "t" / "table.md", tmp_path / "table.csv"
    assert main(["compare", *map(str, runs), "--out", str(md), "--csv", str(table), "--no-timing"]) == 0
    printed = capsys.readouterr().out
    assert printed == md.read_text()
    lines = printed.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |" and len(lines) == 4
    assert "| a | simple_cnn | 77,682 | 3 | 2 |" in lines[2] and "vgg_small" in lines[3]
    rows = list(csv.DictReader(table.open()))
    assert list(rows[0]) == COLUMNS and rows[0]["test_acc"] == "0.81" and rows[1]["test_acc"] == ""
    assert main(["compare", *map(str, runs), "--json", "--no-timing"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out)] == ["a", "b"]


def test_onnx_timing_when_the_run_was_exported(runs):
    import shutil

    from grinlab.shipped import resolve_model

    a = runs[0]
    shutil.copy(resolve_model("smile"), a / "model.onnx")
    shutil.copy(resolve_model("smile").with_suffix(".json"), a / "model.json")
    assert compare_runs([a])[0]["onnx_ms_per_face"] > 0


def test_bad_run_folders_are_named(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope: run folder not found" in err and err.count("\n") == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        GrinlabError, match=r"empty: not a grinlab run folder \(no config.json or metrics.jsonl\)"
    ):
        compare_runs([tmp_path / "empty"])
    broken = _fake_run(tmp_path / "broken", "simple_cnn", [0.5])
    (broken / "metrics.jsonl").write_text('{"epoch": 1}\n')
    with pytest.raises(GrinlabError, match=r"metrics.jsonl, line 1: missing train_loss"):
        compare_runs([broken])
    (broken / "metrics.jsonl").write_text("")
    with pytest.raises(GrinlabError, match="no finished epoch"):
        compare_runs([broken])
    (broken / "config.json").write_text("{")
    with pytest.raises(GrinlabError, match="config.json is not readable JSON"):
        compare_runs([broken])
