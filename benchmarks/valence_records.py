"""The smile_polarity branch runs of the valence experiments, from their run folders' own records
(no inference): best.pt's val metrics from results.json (the recipe's --monitor val_acc pick) and
the last epoch's from metrics.jsonl (no val-based choice). Writes results/valence_experiments.{json,md}.

    python benchmarks/valence_records.py base48g=benchmarks/work/vx/base48g ...

Primary metric, fixed before any run: the branch's balanced accuracy (mean of the positive and
negative recalls) on FaceHack val smiles (seed-0 15% split: 148 positive, 73 negative). The last
epoch's recalls are not logged; with the two class counts fixed they follow from its accuracy and
macro-F1 (the pair of true-positive counts that gives both; both listed when two do).
Behind the shipped gate and the int8 cost: benchmarks/valence_experiments.py (needs inference).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import bench_io

HERE = Path(__file__).resolve().parent
# the shipped cascade's branch on the same val smiles (valence_experiments.py, shipped int8 file)
SHIPPED = {
    "accuracy": 0.6833,
    "balanced_accuracy": 0.684,
    "recall": {"positive_smile": 0.682, "negative_smile": 0.685},
}


def f1(tp: int, n_true: int, n_pred: int) -> float:
    return 2 * tp / (n_true + n_pred) if n_true + n_pred else 0.0


def recalls_from(acc: float, macro_f1: float, n_pos: int, n_neg: int) -> list[dict]:
    """Every (positive, negative) recall pair that gives this accuracy and macro-F1."""
    hits = []
    for tp_pos in range(n_pos + 1):
        tp_neg = round(acc * (n_pos + n_neg)) - tp_pos
        if not 0 <= tp_neg <= n_neg:
            continue
        pred_pos = tp_pos + (n_neg - tp_neg)
        m = (f1(tp_pos, n_pos, pred_pos) + f1(tp_neg, n_neg, n_pos + n_neg - pred_pos)) / 2
        if abs(m - macro_f1) < 1e-6:
            hits.append((tp_pos, tp_neg))
    return [{"positive_smile": a / n_pos, "negative_smile": b / n_neg} for a, b in hits]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="NAME=RUN_DIR")
    bench_io.add_output_options(p, "valence_experiments")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "valence_experiments")
    rows = []
    for spec in args.runs:
        name, _, run = spec.partition("=")
        run = Path(run)
        cfg = json.loads((run / "config.json").read_text())
        counts = cfg["datasets"]["val"]["counts"]
        n_pos, n_neg = counts["positive_smile"], counts["negative_smile"]
        best = json.loads((run / "results.json").read_text())["val"]
        epochs = [
            json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()
        ]
        best_epoch = max(epochs, key=lambda e: e["val_acc"])["epoch"]  # first max, as --monitor val_acc keeps
        last = epochs[-1]
        last_recalls = recalls_from(last["val_acc"], last["val_macro_f1"], n_pos, n_neg)
        pre = cfg["preprocessing"]
        data = cfg["config"]["data"]
        rows.append({
            "name": name,
            "input": f"{pre['size'][0]}x{pre['size'][1]}x{pre['channels']}" + (" upper face" if "upper" in data else ""),
            "epochs": cfg["config"]["epochs"],
            "best": {"epoch": best_epoch, "accuracy": best["accuracy"], "macro_f1": best["macro_f1"],
                     "recall": best["recall"], "balanced_accuracy": [sum(best["recall"].values()) / 2]},
            "last": {"epoch": last["epoch"], "accuracy": last["val_acc"], "macro_f1": last["val_macro_f1"],
                     "recall": last_recalls[0] if len(last_recalls) == 1 else None, "recall_candidates": last_recalls,
                     "balanced_accuracy": [sum(r.values()) / 2 for r in last_recalls]},
            "command": cfg.get("command", ""),
        })  # fmt: skip
    out = Path(args.out)
    out.with_suffix(".json").write_text(
        json.dumps({"shipped_branch": SHIPPED, "runs": rows}, indent=2) + "\n"
    )

    def cell(m):
        if m["recall"] is None:  # two recall pairs fit the logged accuracy and macro-F1
            bal = " or ".join(f"{b:.3f}" for b in m["balanced_accuracy"])
            rec = " or ".join(
                f"{r['positive_smile']:.3f} / {r['negative_smile']:.3f}" for r in m["recall_candidates"]
            )
            return f"{bal} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {rec}"
        r = m["recall"]
        return (f"**{m['balanced_accuracy'][0]:.3f}** | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
                f"{r['positive_smile']:.3f} / {r['negative_smile']:.3f}")  # fmt: skip

    lines = [
        "# Valence branch experiments: smile_polarity on FaceHack val smiles (seed-0 15% split)",
        "",
        f"{n_pos} positive and {n_neg} negative val smiles. Primary metric, fixed before running: balanced "
        "accuracy (mean recall). `last` = the final epoch (no val-based choice); `best` = the recipe's "
        "`--monitor val_acc` checkpoint (chosen on this same val set, so optimistic). All runs from "
        "scratch (no FER2013 init: that checkpoint is not on this machine), float torch metrics as the "
        "trainer logged them.",
        "",
        f"Shipped branch (FER init, gate's frozen trunk, int8): balanced accuracy {SHIPPED['balanced_accuracy']:.3f} "
        "(95% bootstrap interval 0.62-0.74), recall 0.682 / 0.685.",
        "",
        "| run | input | epochs | last: bal. acc | acc | macro-F1 | pos / neg recall | best (epoch): bal. acc | acc | macro-F1 | pos / neg recall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['input']} | {r['epochs']} | {cell(r['last'])} | "
                     f"({r['best']['epoch']}) {cell(r['best'])} |")  # fmt: skip
    lines += ["", "Train commands:", ""] + [f"- `{r['name']}`: `{r['command']}`" for r in rows]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
