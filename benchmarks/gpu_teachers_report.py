"""The table of a gpu_teachers.sh call: how fast the lab trained on the GPU (today's CPU augmentation
path against the GPU path, the same `grinlab train` command alone on the GPU in turn; and each
teacher's epochs under its --time-budget) and how accurate each teacher it brought back is: FER2013
PublicTest (where the runs chose their best epoch), then PrivateTest and the FER+ majority on it,
plain and with flip TTA, beside the two teachers in ../shared/models. Writes
benchmarks/results/gpu_teachers.{json,md}.

    python benchmarks/gpu_teachers_report.py benchmarks/work/gpu_teachers
    python benchmarks/gpu_teachers_report.py benchmarks/work/gpu_teachers \
        --speed "after the step fixes=benchmarks/work/gpu_teachers_speed2" --note "..."

--speed LABEL=FOLDER adds the timing runs of another call (``gpu_teachers.sh speed``, its summary
unpacked in FOLDER), and with it that call's gpu_step_profile.py figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import bench_io
import numpy as np
from emotion7_ensemble import probabilities

from grinlab.classify.onnx_classifier import OnnxClassifier
from grinlab.data import load_splits
from grinlab.evaluate.compare import read_history
from grinlab.train.run_folder import read_run_config
from grinlab.train.torch_data import fit_images

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))
FER = SHARED / "data/fer2013/fer2013.csv.xz"
FERPLUS = SHARED / "data/fer2013/ferplus/fer2013new.csv"
RUNS = "runs/gpu_teachers"  # where the device call's runs lie inside the unpacked summary


# the timing runs of gpu_teachers.sh (speed_<key>): the same command, only these options differ
SPEED_RUNS = {"cpu": "cpu", "device": "device", "device_compiled": "device, --compile reduce-overhead"}
# gpu_step_profile.py's columns (older calls wrote fewer of them)
PROFILE_COLUMNS = {
    "before_ms": "step before",
    "now_ms": "step now",
    "now_channels_last_ms": "now, channels-last",
    "now_fused_ms": "+ fused SGD",
    "now_compiled_ms": "+ compile reduce-overhead",
    "now_compiled_with_augment_ms": "that, with one batch's augmentation",
    "now_with_augment_ms": "now, with one batch's augmentation",
}


def speed(runs: Path) -> dict:
    """images/s of the timing runs, leaving out their first epoch (cuDNN tuning, compilation,
    workers starting), and each GPU path's speed-up over the CPU augmentation path."""
    out = {}
    for on in SPEED_RUNS:
        run = runs / f"speed_{on}"
        if not (run / "metrics.jsonl").is_file():
            continue
        rows = read_history(run)
        steady = rows[1:] or rows
        out[on] = {
            "epochs": len(rows),
            "seconds_per_epoch": round(float(np.mean([r["seconds"] for r in steady])), 2),
            "train_images_per_s": round(float(np.mean([r["images_per_s"] for r in steady]))),
        }
    for on in set(out) - {"cpu"}:
        if "cpu" in out:
            out[on]["speedup"] = round(out[on]["train_images_per_s"] / out["cpu"]["train_images_per_s"], 2)
    return out


def training(run: Path) -> dict:
    rows = read_history(run)
    cfg = read_run_config(run)["config"]
    best = max(rows, key=lambda r: r["val_acc"])
    return {
        "model": cfg["model"],
        "seed": cfg["seed"],
        "epochs": len(rows),
        "seconds": round(sum(r["seconds"] for r in rows)),
        "seconds_per_epoch": round(float(np.mean([r["seconds"] for r in rows[1:] or rows])), 2),
        "best_epoch": best["epoch"],
        "last_train_acc": round(rows[-1]["train_acc"], 4),
    }


def accuracy(model: Path, data: dict) -> dict:
    clf = OnnxClassifier(model, threads=2)
    row = {}
    for key, (crops, ds) in data.items():
        plain, mirror = probabilities(clf, crops, ds.classes)
        row[f"{key}_acc"] = round(float((plain.argmax(1) == ds.labels).mean()), 4)
        row[f"{key}_acc_flip_tta"] = round(float(((plain + mirror).argmax(1) == ds.labels).mean()), 4)
    return row


def markdown(result: dict) -> str:
    """results/gpu_teachers.md from the result the json holds."""
    cols = ["teacher", "made_by", "epochs", "seconds", "seconds_per_epoch", "best_epoch", "public_acc",
            "public_acc_flip_tta", "private_acc", "private_acc_flip_tta", "ferplus_private_acc"]  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in result["rows"]]
    speed_lines = [
        "| call | augment on | epochs | s/epoch (with val) | train images/s | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for label, sp in result["speed"].items():
        for on, what in SPEED_RUNS.items():
            if on in sp:
                r = sp[on]
                speed_lines.append(
                    f"| {label} | {what} | {r['epochs']} | {r['seconds_per_epoch']} | {r['train_images_per_s']} | {r.get('speedup', '')} |"
                )
    for label, prof in result.get("step_profile", {}).items():
        cols = [c for c in PROFILE_COLUMNS if c in next(iter(prof["models"].values()))]
        speed_lines += ["", f"Step profile, {label} ({prof['device']}, batch {prof['batch_size']}, ms per batch): "
                        f"augmentation ({prof['preset']}) alone {prof['augment_ms']}", "",
                        "| model | " + " | ".join(PROFILE_COLUMNS[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]  # fmt: skip
        speed_lines += [
            "| " + " | ".join([m] + [str(r[c]) for c in cols]) + " |" for m, r in prof["models"].items()
        ]
    head = result["setup"] + (f". {result['note']}" if result.get("note") else "")
    text = (
        head
        + "\n\n"
        + "\n".join(lines)
        + "\n\nvgg_paper, the same `grinlab train` command but --augment-on, alone on the GPU (epoch 1 left out):\n\n"
    )
    return text + "\n".join(speed_lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "dest", type=Path, help="gpu_teachers.sh finish's folder (the summary and the joined ONNX files)"
    )
    p.add_argument(
        "--speed",
        action="append",
        default=[],
        metavar="LABEL=FOLDER",
        help="the unpacked summary of another call's timing runs (gpu_teachers.sh speed)",
    )
    p.add_argument("--note", default="", help="what differs between the calls, for the header")
    bench_io.add_output_options(p, "gpu_teachers")
    args = p.parse_args(argv)
    args.out = Path(bench_io.output(args, "gpu_teachers"))
    bench_io.require(FER, FERPLUS)
    runs = args.dest / RUNS
    fer = load_splits(FER, task="emotion7")
    plus = load_splits(FER, task="emotion7", ferplus=str(FERPLUS), label_mode="majority")
    spec = OnnxClassifier(SHARED / "models/fer_teacher_vgg_paper.onnx", threads=1).card.preprocessing
    data = {
        name: (fit_images(ds, spec), ds)
        for name, ds in (("public", fer["val"]), ("private", fer["test"]), ("ferplus_private", plus["test"]))
    }
    rows = []
    for onnx in sorted(SHARED.glob("models/fer_teacher_*.onnx")):
        rows.append(
            {"teacher": onnx.stem, "made_by": "../shared/models (outside the lab)", **accuracy(onnx, data)}
        )
    for onnx in sorted(args.dest.glob("fer_teacher_*.onnx")):
        name = onnx.stem.removeprefix("fer_teacher_")
        card = json.loads(onnx.with_suffix(".json").read_text())
        rows.append({"teacher": onnx.stem, "made_by": "grinlab train on the GPU", "sha256": card["sha256"],
                     **training(runs / name), **accuracy(onnx, data)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "command": "python " + shlex.join(sys.argv),
        "setup": f"FER2013 PublicTest (n={len(fer['val'])}, chose each run's best epoch), PrivateTest "
        f"(n={len(fer['test'])}) and its FER+ majority (n={len(plus['test'])}), read once here; "
        "float ONNX, ONNX Runtime on CPU",
        "note": args.note,
        "speed": {"teachers' call": speed(runs)},
        "rows": rows,
    }
    for item in args.speed:
        label, _, folder = item.partition("=")
        result["speed"][label] = speed(Path(folder) / RUNS)
        profile = Path(folder) / RUNS / "step_profile.json"
        if profile.is_file():
            result.setdefault("step_profile", {})[label] = json.loads(profile.read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    Path(f"{args.out}.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
