"""A table over training runs (the comparison the Smile Recognition project made by hand)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from ..errors import GrinlabError

COLUMNS = [
    "run", "model", "params", "epochs", "best_epoch", "min_val_loss", "val_acc", "val_macro_f1",
    "train_loss", "train_acc", "train_img_per_s", "onnx_ms_per_face", "test_acc",
]  # fmt: skip


def _read_json(path: Path, run: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GrinlabError(f"{run}: not a grinlab run folder ({path.name}: {exc})") from None


def onnx_ms_per_face(model_path: Path, batch: int = 256, repeats: int = 5) -> float:
    """Median ONNX Runtime time per face for one batch of ``batch`` random inputs (1 thread)."""
    from ..classify import OnnxClassifier

    clf = OnnxClassifier(model_path)
    spec = clf.card.preprocessing
    shape = (batch, *spec.size) if spec.channels == 1 else (batch, *spec.size, spec.channels)
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    clf.predict_prepared(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        clf.predict_prepared(x)
        times.append((time.perf_counter() - t0) * 1e3 / batch)
    return float(np.median(times))


def run_row(run: Path, time_onnx: bool = True) -> dict:
    run = Path(run)
    if not (run / "config.json").is_file() or not (run / "metrics.jsonl").is_file():
        raise GrinlabError(f"{run}: not a grinlab run folder (needs config.json and metrics.jsonl)")
    cfg = _read_json(run / "config.json", run)
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not history:
        raise GrinlabError(f"{run}: no finished epoch in metrics.jsonl")
    monitor = cfg.get("config", {}).get("monitor", "val_loss")
    best = (
        min(history, key=lambda h: h["val_loss"])
        if monitor == "val_loss"
        else max(history, key=lambda h: h["val_acc"])
    )
    last = history[-1]
    results = _read_json(run / "results.json", run) if (run / "results.json").is_file() else {}
    row = {
        "run": run.name,
        "model": cfg.get("model"),
        "params": cfg.get("params"),
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "min_val_loss": round(min(h["val_loss"] for h in history), 4),
        "val_acc": round(results.get("val", {}).get("accuracy", best["val_acc"]), 4),
        "val_macro_f1": round(
            results.get("val", {}).get("macro_f1", best.get("val_macro_f1", float("nan"))), 4
        ),
        "train_loss": round(last["train_loss"], 4),
        "train_acc": round(last["train_acc"], 4),
        "train_img_per_s": round(float(np.median([h["images_per_s"] for h in history])), 1),
        "onnx_ms_per_face": None,
        "test_acc": round(results["test"]["accuracy"], 4) if "test" in results else None,
    }
    if time_onnx and (run / "model.onnx").is_file():
        row["onnx_ms_per_face"] = round(onnx_ms_per_face(run / "model.onnx"), 4)
    return row


def compare_runs(runs, time_onnx: bool = True) -> list[dict]:
    return [run_row(Path(r), time_onnx) for r in runs]


def write_table(rows: list[dict], path: str | Path, fmt: str = "markdown") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
    else:
        path.write_text(markdown_table(rows))
    return path


def markdown_table(rows: list[dict]) -> str:
    def cell(v):
        return "" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"
