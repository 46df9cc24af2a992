"""A table over training runs (the architecture comparison the Smile Recognition project made by hand).

One row per run folder of ``grinlab train``: config.json and metrics.jsonl are required;
results.json (metrics of best.pt), report/summary.json (ms per face of the evaluated predictor),
report_test/summary.json and model.onnx (timed with ONNX Runtime) are used when present.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import GrinlabError

COLUMNS = [
    "run", "model", "params", "epochs", "best_epoch", "min_val_loss", "val_acc", "val_macro_f1",
    "train_loss", "train_acc", "train_img_per_s", "ms_per_face", "onnx_ms_per_face", "test_acc",
]  # fmt: skip
EPOCH_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")
# metrics.jsonl keys a run may monitor to pick best.pt; macro-F1 for imbalanced tasks (valence,
# polarity), where accuracy favours the majority class
MONITORS = ("val_loss", "val_acc", "val_macro_f1")


def monitor_mode(monitor: str) -> str:
    """ "min" when a lower value of ``monitor`` is better, else "max"."""
    return "min" if monitor == "val_loss" else "max"


def _read_json(path: Path, run: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GrinlabError(f"{run}: {path.name} is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise GrinlabError(f"{run}: {path.name} should hold a JSON object")
    return data


def read_history(run: Path) -> list[dict]:
    """The per-epoch rows of ``run/metrics.jsonl``; a bad line is named by its number."""
    path = run / "metrics.jsonl"
    history = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise GrinlabError(f"{path}, line {i}: not a JSON object") from None
        missing = [k for k in EPOCH_KEYS if not isinstance(row, dict) or k not in row]
        if missing:
            raise GrinlabError(f"{path}, line {i}: missing {', '.join(missing)}")
        history.append(row)
    if not history:
        raise GrinlabError(f"{path}: no finished epoch yet")
    return history


def onnx_ms_per_face(
    model_path: Path, batch: int = 256, repeats: int = 5, threads: int | None = None
) -> float:
    """Median ONNX Runtime time per face over ``repeats`` batches of ``batch`` random crops already
    at the model's input size (``threads`` intra-op threads; default the classifier's, 1)."""
    from ..classify import load_classifier

    clf = load_classifier(model_path, threads=threads)
    spec = clf.card.preprocessing
    shape = (batch, *spec.size) if spec.channels == 1 else (batch, *spec.size, spec.channels)
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    clf.predict_prepared(x)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        clf.predict_prepared(x)
        times.append((time.perf_counter() - t0) * 1e3 / batch)
    return float(np.median(times))


def _round(v, digits: int = 4):
    return None if v is None else round(float(v), digits)


def run_row(run: str | Path, time_onnx: bool = True) -> dict:
    """One table row for a run folder (see ``COLUMNS``); None where the run has no such number."""
    run = Path(run)
    if not run.is_dir():
        raise GrinlabError(f"{run}: run folder not found")
    missing = [f for f in ("config.json", "metrics.jsonl") if not (run / f).is_file()]
    if missing:
        raise GrinlabError(f"{run}: not a grinlab run folder (no {' or '.join(missing)})")
    cfg = _read_json(run / "config.json", run)
    history = read_history(run)
    monitor = cfg.get("config", {}).get("monitor", "val_loss")
    pick = min if monitor_mode(monitor) == "min" else max
    best = pick(history, key=lambda h: h[monitor])
    last = history[-1]
    results = _read_json(run / "results.json", run) if (run / "results.json").is_file() else {}
    report = run / "report" / "summary.json"
    report = _read_json(report, run) if report.is_file() else {}
    test = results.get("test") or {}
    if not test and (run / "report_test" / "summary.json").is_file():
        test = _read_json(run / "report_test" / "summary.json", run)
    val = results.get("val") or {}
    speeds = [h["images_per_s"] for h in history if h.get("images_per_s") is not None]
    row = {
        "run": run.name,
        "model": cfg.get("model"),
        "params": cfg.get("params"),
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "min_val_loss": _round(min(h["val_loss"] for h in history)),
        # best.pt's own evaluation when the run has one, else the epoch row of the best epoch
        "val_acc": _round(val.get("accuracy", best["val_acc"])),
        "val_macro_f1": _round(val.get("macro_f1", best.get("val_macro_f1"))),
        "train_loss": _round(last["train_loss"]),
        "train_acc": _round(last["train_acc"]),
        "train_img_per_s": _round(np.median(speeds), 1) if speeds else None,
        "ms_per_face": _round(report.get("ms_per_face")),
        "onnx_ms_per_face": None,
        "test_acc": _round(test.get("accuracy")),
    }
    if time_onnx and (run / "model.onnx").is_file():
        row["onnx_ms_per_face"] = _round(onnx_ms_per_face(run / "model.onnx"))
    return row


def compare_runs(runs: Iterable[str | Path], time_onnx: bool = True) -> list[dict]:
    return [run_row(Path(r), time_onnx) for r in runs]


def markdown_table(rows: list[dict]) -> str:
    def cell(v) -> str:
        if v is None:
            return ""
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict], path: str | Path, fmt: str = "markdown") -> Path:
    """Write ``rows`` as Markdown (``fmt="markdown"``) or CSV (``fmt="csv"``, empty cells for None)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    elif fmt == "markdown":
        path.write_text(markdown_table(rows))
    else:
        raise GrinlabError(f"unknown table format {fmt!r}; use markdown or csv")
    return path
