"""The table of a gpu_distill.sh run: for each student run folder that came back, how it trained
on the GPU (epochs the --time-budget planned, seconds per epoch, images/s with the teachers asked
on every batch) and how its int8 exports (best and last checkpoint) do on all of FER2013 PublicTest
and on the same faces against the FER+ majority, beside the shipped emotion7. PrivateTest is not
read: students are chosen on PublicTest only. Writes benchmarks/results/gpu_distill.{json,md}.
With --task emotion8 (gpu_emotion8.sh's students): FER+ majority accuracy on PublicTest (8 classes),
beside the shipped emotion8.

    python benchmarks/gpu_distill_report.py benchmarks/work/gpu_students
    python benchmarks/gpu_distill_report.py benchmarks/work/gpu_emotion8 --task emotion8 --out benchmarks/results/gpu_emotion8
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
    from grinlab.evaluate.compare import read_history
    from grinlab.train.run_folder import read_run_config

    rows = read_history(run)
    cfg = read_run_config(run)["config"]
    keep = (
        "init_from",
        "augment",
        "batch_size",
        "lr",
        "distill_weight",
        "distill_temperature",
        "time_budget",
    )
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
    p.add_argument("--also", type=Path, action="append", default=[], metavar="ONNX",
                   help="another model to score beside them (e.g. the teacher the students learnt from)")  # fmt: skip
    p.add_argument("--task", choices=("emotion7", "emotion8"), default="emotion7", help="the students' task")
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

    # emotion7: FER2013's labels and the FER+ majority on PublicTest; emotion8: the FER+ majority only
    ferplus = load_splits(FER, task=args.task, ferplus=str(FERPLUS), label_mode="majority")["val"]
    public = load_splits(FER, task="emotion7")["val"] if args.task == "emotion7" else None

    def scores(model) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            b = evaluate_onnx(model, ferplus, tmp, force=True)
            b = b.get("metrics", b)
            row = {
                "ferplus_public_acc": round(b["accuracy"], 4),
                "ferplus_public_macro_f1": round(b["macro_f1"], 4),
            }
            if public is not None:
                a = evaluate_onnx(model, public, tmp, force=True)
                a = a.get("metrics", a)
                row.update(public_acc=round(a["accuracy"], 4), public_macro_f1=round(a["macro_f1"], 4))
        return row

    rows = [{"student": f"{args.task} (shipped)", "checkpoint": "", **scores(resolve_model(args.task))}]
    rows += [{"student": f"{m.stem} (not a student)", "checkpoint": "", **scores(m)} for m in args.also]
    for run in runs:
        training = _training(run)
        for which in ("best", "last"):
            onnx = args.students / f"{run.name}_{which}.onnx"
            if onnx.is_file():
                rows.append({"student": run.name, "checkpoint": which, **training, **scores(onnx)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    setup = (
        f"resnet_tiny students, int8, FER2013 PublicTest (n={len(public)}) and FER+ majority on it (n={len(ferplus)})"
        if public is not None
        else f"resnet_tiny emotion8 students, int8, FER+ majority on FER2013 PublicTest (n={len(ferplus)})"
    )
    result = {"command": "python " + shlex.join(sys.argv), "setup": setup, "note": args.note, "rows": rows}
    Path(f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    cols = ["student", "checkpoint", "augment", "batch_size", "distill_weight", "distill_temperature",
            "epochs", "seconds_per_epoch", "images_per_s", "public_acc", "public_macro_f1", "ferplus_public_acc",
            "ferplus_public_macro_f1"]  # fmt: skip
    if public is None:
        cols = [c for c in cols if not c.startswith("public_")]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    head = result["setup"] + (f". {args.note}" if args.note else "")
    Path(f"{args.out}.md").write_text(head + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
