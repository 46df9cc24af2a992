"""The table of a gpu_distill.sh run: for each student run folder that came back, how it trained
on the GPU (epochs the --time-budget planned, seconds per epoch, images/s with the teachers asked
on every batch) and how its int8 exports (best and last checkpoint) do on all of FER2013 PublicTest
and on the same faces against the FER+ majority, beside the shipped emotion7. PrivateTest is not
read: students are chosen on PublicTest only. Writes benchmarks/results/gpu_distill.{json,md}.

    python benchmarks/gpu_distill_report.py benchmarks/work/gpu_students
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

import bench_io

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))
FER = SHARED / "data/fer2013/fer2013.csv.xz"
FERPLUS = SHARED / "data/fer2013/ferplus/fer2013new.csv"


def _training(run: Path) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    cfg = json.loads((run / "config.json").read_text())["config"]
    keep = ("augment", "batch_size", "lr", "distill_weight", "distill_temperature", "time_budget")
    return {
        **{k: cfg[k] for k in keep},
        "epochs": len(rows),
        "seconds_per_epoch": round(sum(r["seconds"] for r in rows) / len(rows), 2),
        "images_per_s": round(sum(r["images_per_s"] for r in rows) / len(rows)),
        "last_train_acc": round(rows[-1]["train_acc"], 4),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("students", type=Path, help="folder with the run folders and their *_best/_last.onnx")
    p.add_argument("--note", default="", help="how the runs shared the GPU, for the table's header")
    bench_io.add_output_options(p, "gpu_distill")
    args = p.parse_args(argv)
    args.out = Path(bench_io.output(args, "gpu_distill"))
    if not FER.is_file() or not FERPLUS.is_file():
        print(f"{FER} or {FERPLUS}: not found; set GRINLAB_SHARED to the shared data folder", file=sys.stderr)
        return 2
    runs = sorted(d for d in args.students.iterdir() if (d / "metrics.jsonl").is_file())
    if not runs:
        print(f"{args.students}: no run folders; run gpu_distill.sh finish first", file=sys.stderr)
        return 2

    from grinlab.data import load_splits
    from grinlab.evaluate.onnx_eval import evaluate_onnx
    from grinlab.shipped import resolve_model

    public = load_splits(FER, task="emotion7")["val"]
    ferplus = load_splits(FER, task="emotion7", ferplus=str(FERPLUS), label_mode="majority")["val"]

    def scores(model) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            a = evaluate_onnx(model, public, tmp, force=True)
            b = evaluate_onnx(model, ferplus, tmp, force=True)
        a, b = a.get("metrics", a), b.get("metrics", b)
        return {"public_acc": round(a["accuracy"], 4), "public_macro_f1": round(a["macro_f1"], 4),
                "ferplus_public_acc": round(b["accuracy"], 4)}  # fmt: skip

    rows = [{"student": "emotion7 (shipped)", "checkpoint": "", **scores(resolve_model("emotion7"))}]
    for run in runs:
        training = _training(run)
        for which in ("best", "last"):
            onnx = args.students / f"{run.name}_{which}.onnx"
            if onnx.is_file():
                rows.append({"student": run.name, "checkpoint": which, **training, **scores(onnx)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    setup = f"resnet_tiny students, int8, FER2013 PublicTest (n={len(public)}) and FER+ majority on it (n={len(ferplus)})"
    result = {"command": "python " + shlex.join(sys.argv), "setup": setup, "note": args.note, "rows": rows}
    Path(f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    cols = ["student", "checkpoint", "augment", "batch_size", "distill_weight", "distill_temperature",
            "epochs", "seconds_per_epoch", "images_per_s", "public_acc", "public_macro_f1", "ferplus_public_acc"]  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    head = result["setup"] + (f". {args.note}" if args.note else "")
    Path(f"{args.out}.md").write_text(head + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
