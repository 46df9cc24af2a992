"""The lab's best emotion7 figure: the mean probability of several ONNX emotion7 models (each also on
the mirror image, i.e. flip TTA), on FER2013 PublicTest (val, used to choose) and PrivateTest (test,
reported once). Writes benchmarks/results/emotion7_ensemble.json. With --val-only PrivateTest is not
read at all (models whose test figure was promised unread).

    python benchmarks/emotion7_ensemble.py benchmarks/work/emotion7.onnx benchmarks/work/emotion7_kd.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from itertools import combinations
from pathlib import Path

import bench_io
import numpy as np

from grinlab.classify.onnx_classifier import OnnxClassifier
from grinlab.data import load_splits
from grinlab.train.torch_data import fit_images

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))


def probabilities(clf: OnnxClassifier, crops: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """(plain, mirror) probabilities in ``classes`` order."""
    order = [clf.labels.index(c) for c in classes]
    plain = clf.predict_prepared(crops)[:, order]
    mirror = clf.predict_prepared(np.ascontiguousarray(crops[:, :, ::-1]))[:, order]
    return plain, mirror


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="emotion7 .onnx files with their cards")
    p.add_argument("--data", default=str(SHARED / "data/fer2013/fer2013.csv.xz"))
    p.add_argument("--val-only", action="store_true", help="PublicTest only: PrivateTest is not read")
    bench_io.add_output_options(p, "emotion7_ensemble.json")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "emotion7_ensemble.json")
    bench_io.require(args.data)
    bench_io.require(*args.models, what="an emotion7 .onnx file, its card .json beside it")
    splits = load_splits(args.data, task="emotion7")
    clfs = [OnnxClassifier(m, threads=2) for m in args.models]
    # a file's name, or its path where two files share a name (a teacher and its lab-made namesake)
    names = [Path(m).name for m in args.models]
    names = [n if names.count(n) == 1 else str(m) for n, m in zip(names, args.models)]
    spec = clfs[0].card.preprocessing
    rows = []
    probs = {}
    for split in ("val",) if args.val_only else ("val", "test"):
        ds = splits[split]
        crops = fit_images(ds, spec)
        probs[split] = ([probabilities(c, crops, ds.classes) for c in clfs], ds.labels)
    for k in range(1, len(clfs) + 1):
        for members in combinations(range(len(clfs)), k):
            row = {"models": [names[i] for i in members]}
            for split, (per_model, y) in probs.items():
                plain = np.mean([per_model[i][0] for i in members], axis=0)
                flip = np.mean([per_model[i][0] + per_model[i][1] for i in members], axis=0)
                row[f"{split}_acc"] = round(float((plain.argmax(1) == y).mean()), 4)
                row[f"{split}_acc_flip_tta"] = round(float((flip.argmax(1) == y).mean()), 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    doc = {"command": shlex.join(["python", *sys.argv]), "val": "FER2013 PublicTest",
           "test": "not read (--val-only)" if args.val_only else "FER2013 PrivateTest",
           "combination": "mean of probabilities; flip TTA also averages each model's mirror-image probabilities",
           "rows": rows}  # fmt: skip
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
