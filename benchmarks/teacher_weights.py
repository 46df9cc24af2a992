"""Teacher ONNX files (zoo networks exported by grinlab export) -> float16 teacher-weights files
(grinlab.train.teacher_weights) that a GPU run loads with --teacher FILE.pt: half the bytes, so both
FER2013 teachers (30 MB as ONNX) travel to a GPU machine beside the data (64 MiB a call).

Checks each file: the float32 torch copy against ONNX Runtime (inside the conversion), and the
float16 copy's top-1 agreement with the ONNX file on FER2013 PublicTest when --data is given.

    python benchmarks/teacher_weights.py ../shared/models/fer_teacher_vgg_paper.onnx \
        ../shared/models/fer_teacher_resnet18.onnx --out benchmarks/work/gpu_carry/teachers \
        --data ../shared/data/fer2013/fer2013.csv.xz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("onnx", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True, help="folder for the .pt files")
    p.add_argument("--data", type=Path, help="FER2013 csv[.xz]: check agreement on PublicTest")
    args = p.parse_args(argv)

    import torch

    from grinlab.classify.onnx_classifier import OnnxClassifier
    from grinlab.errors import GrinlabError
    from grinlab.train.teacher_weights import load_teacher_weights, save_teacher_weights

    faces = None
    if args.data:
        from grinlab.data import load_splits

        val = load_splits(args.data, task="emotion7")["val"]
        faces = val.images
    report = {}
    for onnx in args.onnx:
        try:
            out = save_teacher_weights(onnx, args.out / f"{onnx.stem}.pt")
        except GrinlabError as e:
            print(e, file=sys.stderr)
            return 2
        entry = {"file": str(out), "bytes": out.stat().st_size}
        if faces is not None:
            from grinlab.preprocess import fit_crop, normalize

            clf = OnnxClassifier(onnx, threads=2)
            x = normalize(
                np.stack([fit_crop(f, clf.card.preprocessing) for f in faces]), clf.card.preprocessing
            )
            model, _ = load_teacher_weights(out)
            with torch.no_grad():
                got = np.concatenate([torch.softmax(model(torch.from_numpy(x[s : s + 512])), 1).numpy()
                                      for s in range(0, len(x), 512)])  # fmt: skip
            want = clf.predict_input(x)
            entry.update(
                n=len(x),
                top1_agreement=float((got.argmax(1) == want.argmax(1)).mean()),
                max_abs_prob_diff=float(np.abs(got - want).max()),
            )
        report[onnx.name] = entry
        print(onnx.name, json.dumps(entry))
    (args.out / "teacher_weights.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
