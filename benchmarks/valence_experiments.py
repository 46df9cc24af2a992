"""Positive-vs-negative smile branches side by side on FaceHack val (our seeded 15% split, seed 0,
the one every run and the shipped valence cascade validate on). Writes
results/valence_experiments_eval.{json,md} (valence_records.py writes valence_experiments.{json,md}).

    python benchmarks/valence_experiments.py \\
        base48g=benchmarks/work/vx/base48g col64=benchmarks/work/vx/col64 \\
        upper48g=benchmarks/work/vx/upper48g@0.55

NAME=RUN_DIR[@KEEP]: a `grinlab train --task smile_polarity` run folder; @KEEP says the run was
trained on the top KEEP share of each crop (benchmarks/valence_upper_face.py), so its val crops are
cut the same way here. Branch rows are the float checkpoints (last.pt and best.pt); --time NAME:last exports that one
int8 (grinlab export --int8, into benchmarks/work/vx/) and times it.

Metrics fixed before any run was made:
- primary: the branch's balanced accuracy (mean of the two recalls) on FaceHack val smiles;
- secondary: the 3-class valence result when the branch follows the SHIPPED gate, composed as the
  shipped cascade does (P(no_smile) = 1 - g, P(pos) = g * b_pos, P(neg) = g * b_neg, argmax), where g
  is read off the shipped valence.onnx (1 - its P(no_smile)); the shipped cascade (int8) itself is the
  reference row. The gate is the same for every row, so only the branch differs.
Cost: onnx_ms_per_face at batch 64, 2 threads (shared CPU: indicative only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import bench_io
import numpy as np

from grinlab.classify import load_classifier
from grinlab.data import load_splits
from grinlab.evaluate.compare import onnx_ms_per_face
from grinlab.shipped import resolve_model
from grinlab.train.predict import TorchPredictor, load_run_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VALENCE = ("no_smile", "positive_smile", "negative_smile")


def metrics(y: np.ndarray, pred: np.ndarray, classes) -> dict:
    recall, f1 = {}, []
    for c, name in enumerate(classes):
        tp = int(((pred == c) & (y == c)).sum())
        n_true, n_pred = int((y == c).sum()), int((pred == c).sum())
        r = tp / n_true if n_true else 0.0
        p = tp / n_pred if n_pred else 0.0
        recall[name] = round(r, 4)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return {
        "n": int(len(y)),
        "accuracy": round(float((pred == y).mean()), 4),
        "balanced_accuracy": round(float(np.mean(list(recall.values()))), 4),
        "macro_f1": round(float(np.mean(f1)), 4),
        "recall": recall,
    }


def bootstrap_balanced_accuracy(y: np.ndarray, pred: np.ndarray, n: int = 2000) -> list[float]:
    """95% interval of balanced accuracy over val smiles resampled with replacement (seeded)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        out.append(np.mean([(pred[i][y[i] == c] == c).mean() for c in (0, 1)]))
    return [round(float(q), 3) for q in np.percentile(out, [2.5, 97.5])]


def upper(images, keep: float | None):
    if keep is None:
        return list(images)
    return [np.ascontiguousarray(im[: max(1, round(im.shape[0] * keep))]) for im in images]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """Class-balanced L2 logistic regression by Newton steps; x already has a bias column."""
    w_class = len(y) / (2 * np.bincount(y, minlength=2))
    sw = w_class[y]
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (sw * (p - y)) + l2 * w
        hess = (x * (sw * p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def probe_features(clf, images) -> np.ndarray:
    return np.log(clf.predict_proba(list(images)) + 1e-6)


def export_int8(run: Path, name: str, out_dir: Path, which: str) -> Path:
    onnx = out_dir / f"{name}_{which}_int8.onnx"
    if not onnx.is_file():
        cmd = [sys.executable, "-m", "grinlab", "export", str(run), "--out", str(onnx), "--name", f"{name}_{which}",
               "--which", which, "--int8", "--force"]  # fmt: skip
        subprocess.run(cmd, check=True)
    return onnx


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="*", help="NAME=RUN_DIR[@KEEP]")
    p.add_argument("--data", default=str(bench_io.SHARED / "data" / "facehack"))
    p.add_argument("--work", default=str(HERE / "work" / "vx"), help="where the int8 exports go")
    bench_io.add_output_options(p, "valence_experiments_eval")
    p.add_argument("--no-timing", action="store_true")
    p.add_argument(
        "--time",
        action="append",
        default=[],
        metavar="NAME:WHICH",
        help="export this run's checkpoint (last or best) int8 and time it (repeatable)",
    )
    p.add_argument("--probe", action="append", default=[],
                   help="shipped model or .onnx (e.g. an emotion7 net): a class-balanced logistic regression on "
                   "its log-probabilities, fitted on FaceHack train smiles, is the branch (repeatable)")  # fmt: skip
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "valence_experiments_eval")
    bench_io.require(args.data)
    timed: dict[str, set] = {}
    for t in args.time:
        n_, _, w_ = t.partition(":")
        timed.setdefault(n_, set()).add(w_ or "last")
    args.time = timed

    splits = load_splits(args.data, task="valence")
    val = splits["val"]
    assert tuple(val.classes) == VALENCE, val.classes
    y3 = val.labels
    smiles = y3 != 0
    y2 = y3[smiles] - 1  # positive_smile 0, negative_smile 1 (the branch's order)

    shipped_path = resolve_model("valence")
    shipped = load_classifier(shipped_path)
    order = [shipped.labels.index(c) for c in VALENCE]
    p3 = shipped.predict_proba(list(val.images))[:, order]
    g = 1.0 - p3[:, 0]  # the gate's P(smile)
    b_shipped = p3[:, 1:] / np.maximum(g, 1e-12)[:, None]

    def row(name, b, command, ms, extra=None):
        three = np.column_stack([1.0 - g, g[:, None] * b])
        pred = three.argmax(1)
        confusion = [[int(((y3 == t) & (pred == q)).sum()) for q in range(3)] for t in range(3)]
        return {
            "name": name,
            "branch_val_smiles": metrics(y2, b[smiles].argmax(1), VALENCE[1:]),
            "branch_balanced_accuracy_95ci": bootstrap_balanced_accuracy(y2, b[smiles].argmax(1)),
            "valence_val_with_shipped_gate": metrics(y3, pred, VALENCE),
            "valence_confusion_rows_true_cols_pred": confusion,
            # no tuned parameter: the gate decides smile at g > 0.5, then the branch's argmax
            "valence_val_gate_then_branch": metrics(y3, np.where(g > 0.5, 1 + b.argmax(1), 0), VALENCE),
            "ms_per_face_int8_b64_2thr": ms,
            "command": command,
            **(extra or {}),
        }

    rows = [row("shipped valence (FER-init gate + frozen-trunk branch)", b_shipped,
                "src/grinlab/models/valence.onnx (benchmarks/make_models.sh smile_gate polarity valence)",
                None if args.no_timing else round(onnx_ms_per_face(shipped_path, 64, 30, threads=2), 4))]  # fmt: skip
    # upper bound: a perfect branch on every true smile (the shipped branch elsewhere), same gate
    b_oracle = b_shipped.copy()
    b_oracle[smiles] = np.eye(2)[y2]
    rows.append(row("perfect branch (upper bound, shipped gate)", b_oracle, "-", None))
    for model in args.probe:
        clf = load_classifier(resolve_model(model))
        tr = splits["train"]
        tr_smiles = tr.labels != 0
        xtr = probe_features(clf, [im for im, s_ in zip(tr.images, tr_smiles) if s_])
        mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
        w = fit_logistic(np.column_stack([(xtr - mu) / sd, np.ones(len(xtr))]), tr.labels[tr_smiles] - 1)
        xv = (probe_features(clf, val.images) - mu) / sd
        p_neg = 1 / (1 + np.exp(-np.column_stack([xv, np.ones(len(xv))]) @ w))
        ms = None if args.no_timing else round(onnx_ms_per_face(resolve_model(model), 64, 30, threads=2), 4)
        pre = clf.card.preprocessing
        rows.append(row(f"linear probe on {Path(model).stem} ({', '.join(clf.labels)}) log-probs",
                        np.column_stack([1 - p_neg, p_neg]), "benchmarks/valence_experiments.py --probe " + model, ms,
                        {"input": f"{pre.size[0]}x{pre.size[1]}x{pre.channels}", "probe_weights": w.round(4).tolist()}))  # fmt: skip
    for spec in args.runs:
        name, _, rest = spec.partition("=")
        run, _, keep = rest.partition("@")
        keep = float(keep) if keep else None
        run = Path(run)
        cfg = json.loads((run / "config.json").read_text())
        torch_val = (
            json.loads((run / "results.json").read_text()) if (run / "results.json").is_file() else None
        )
        for which in ("last", "best"):  # last: no val-based choice; best: the recipe's --monitor val_acc pick
            model, _, spec_, classes = load_run_model(run, which)
            bord = [classes.index(c) for c in VALENCE[1:]]
            b = TorchPredictor(model, spec_)(upper(val.images, keep))[:, bord]  # float checkpoint
            ms = size_kb = None
            if which in args.time.get(name, ()):  # int8 export for the cost of a candidate
                onnx = export_int8(run, name, Path(args.work), which)
                size_kb = round(onnx.stat().st_size / 1024, 1)
                if not args.no_timing:
                    ms = round(onnx_ms_per_face(onnx, 64, 30, threads=2), 4)
            pre = cfg["preprocessing"]
            extra = {
                "checkpoint": which,
                "input": f"{pre['size'][0]}x{pre['size'][1]}x{pre['channels']}" + (f", top {keep:.0%} of crop" if keep else ""),
                "params": cfg.get("params"),
                "int8_size_kb": size_kb,
                "torch_results_json_best": torch_val,
            }  # fmt: skip
            rows.append(row(f"{name} ({which}.pt)", b, cfg.get("command", ""), ms, extra))

    # the gate alone: share of each true class it lets through as a smile (cascade's own rule: a
    # face is no_smile when 1 - g beats g * max(branch)); with g > 0.5 as the plain threshold too
    gate = {c: {"g_over_half": round(float((g[y3 == i] > 0.5).mean()), 4)} for i, c in enumerate(VALENCE)}
    out = Path(args.out)
    out.with_suffix(".json").write_text(
        json.dumps({"shipped_gate_pass_rate": gate, "rows": rows}, indent=2) + "\n"
    )
    lines = [
        "# Valence branch experiments (FaceHack val, seed-0 15% split)",
        "",
        "Primary metric (chosen before running): the branch's balanced accuracy on val smiles "
        f"({int(smiles.sum())}: {int((y2 == 0).sum())} positive, {int((y2 == 1).sum())} negative). "
        f"Secondary: 3-class valence on all {len(y3)} val faces with the shipped gate in front. Shipped rows: its int8 ONNX; run rows: float checkpoints.",
        "",
        "| branch | input | branch bal. acc [95% CI] | pos / neg recall | 3-class acc | 3-class macro-F1 | neg recall (3-class) | gate>0.5 then branch: acc / macro-F1 / neg recall | ms/face (b64, 2 thr) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, v, h = (
            r["branch_val_smiles"],
            r["valence_val_with_shipped_gate"],
            r["valence_val_gate_then_branch"],
        )
        lines.append(
            f"| {r['name']} | {r.get('input', '48x48x1')} | {b['balanced_accuracy']:.3f} [{r['branch_balanced_accuracy_95ci'][0]:.2f}, {r['branch_balanced_accuracy_95ci'][1]:.2f}] | "
            f"{b['recall']['positive_smile']:.3f} / {b['recall']['negative_smile']:.3f} | "
            f"{v['accuracy']:.3f} | {v['macro_f1']:.3f} | {v['recall']['negative_smile']:.3f} | "
            f"{h['accuracy']:.3f} / {h['macro_f1']:.3f} / {h['recall']['negative_smile']:.3f} | "
            f"{r['ms_per_face_int8_b64_2thr'] if r['ms_per_face_int8_b64_2thr'] is not None else '-'} |"
        )
    lines += [
        "",
        "Shipped gate: share of each true val class with P(smile) > 0.5: "
        + ", ".join(f"{c} {v['g_over_half']:.3f}" for c, v in gate.items())
        + ".",
    ]
    lines += [
        "",
        "3-class columns: the cascade's own composition (argmax of 1 - g, g * b_pos, g * b_neg); "
        "'gate>0.5 then branch': no_smile when g <= 0.5, else the branch's argmax (no tuned parameter).",
    ]
    lines += [
        "",
        "ms/face: the shipped row times its whole merged cascade (gate and branch share a trunk); the "
        "other rows time the branch alone, which would run after a gate as a second network.",
        "",
        "Train commands:",
        "",
    ] + [f"- `{r['name']}`: `{r['command']}`" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
