"""Smile models side by side on our SMILEsmileD and GENKI-4K val splits (GENKI photos through the
runtime's detect -> align, as in shipped_models.py): each model alone, with flip TTA, and the
mean of all of them (with and without flip TTA). Writes results/smile_experiments.{json,md} with
each model's train command from its card.

    GRINLAB_YUNET_MODEL=../shared/models/face_detection_yunet_2023mar.onnx \\
      python benchmarks/smile_experiments.py smile benchmarks/work/x_r64.onnx benchmarks/work/x_light.onnx

Used to decide whether a bigger input or an ensemble would close the gap to 95% on SMILEsmileD.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import bench_io
import numpy as np
from shipped_models import EVALUATIONS  # same datasets and splits as the shipped table

from grinlab.classify import load_classifier
from grinlab.data import load_splits
from grinlab.errors import GrinlabError
from grinlab.evaluate.compare import onnx_ms_per_face
from grinlab.evaluate.onnx_eval import crop_with_pipeline, match_classes
from grinlab.shipped import resolve_model

HERE = Path(__file__).resolve().parent


def smile_probability(clf, images: list[np.ndarray], flip: bool) -> np.ndarray:
    if flip:
        images = [np.ascontiguousarray(im[:, ::-1]) for im in images]
    return clf.predict_proba(images)[:, clf.labels.index("smile")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="shipped model names or .onnx files with their cards")
    bench_io.add_output_options(p, "smile_experiments")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "smile_experiments")
    try:
        clfs = [load_classifier(resolve_model(m)) for m in args.models]
    except GrinlabError as exc:
        p.error(str(exc))
    for m, c in zip(args.models, clfs):
        if "smile" not in c.labels:
            p.error(f"{m} has no 'smile' label ({', '.join(c.labels)}); give smile models")
    rows = [{"model": m, "input": "x".join(map(str, c.card.preprocessing.size)), "command": c.card.command,
             "ms_per_face_2_threads": round(onnx_ms_per_face(resolve_model(m), 64, 30, threads=2), 4)}
            for m, c in zip(args.models, clfs)]  # fmt: skip
    ensemble = {"model": "mean of all", "input": "-", "command": "-"}
    shared = {}
    bench_io.require(*(e[1] for e in EVALUATIONS["smile"]))
    for label, data, split, pipeline, options in EVALUATIONS["smile"]:
        ds = match_classes(load_splits(data, task="smile", **options)[split], ("no_smile", "smile"), "smile")
        if pipeline:
            ds, _ = crop_with_pipeline(ds)
        images, y = list(ds.images), ds.labels
        plain = [smile_probability(c, images, False) for c in clfs]
        flipped = [smile_probability(c, images, True) for c in clfs]
        for row, pp, pf in zip(rows, plain, flipped):
            row[label] = {"accuracy": round(float(((pp > 0.5) == y).mean()), 4),
                          "flip_tta": round(float((((pp + pf) / 2 > 0.5) == y).mean()), 4)}  # fmt: skip
        # faces every model gets wrong, and those where every model is sure of it: label noise, or what
        # no model here can learn (the ceiling an ensemble of these cannot pass)
        p_label = np.where(y == 1, np.array(plain), 1 - np.array(plain))
        shared[label] = {"n": len(y), "all_wrong": int((p_label < 0.5).all(0).sum()),
                         "all_wrong_confident": int((p_label < 0.1).all(0).sum())}  # fmt: skip
        ensemble[label] = {"accuracy": round(float(((np.mean(plain, 0) > 0.5) == y).mean()), 4),
                           "flip_tta": round(float(((np.mean(plain + flipped, 0) > 0.5) == y).mean()), 4)}  # fmt: skip
        print(label, "n =", len(y), flush=True)
    rows.append(ensemble)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels = [e[0] for e in EVALUATIONS["smile"]]
    doc = {"command": shlex.join(["python", *sys.argv]), "rows": rows, "errors_all_models_share": shared}
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["| model | input | " + " | ".join(f"{lab} (flip TTA)" for lab in labels) + " | ms/face (2 thr) |",
             "|---|---|" + "---|" * len(labels) + "---|"]  # fmt: skip
    for r in rows:
        cells = [f"{r[lab]['accuracy']:.1%} ({r[lab]['flip_tta']:.1%})" for lab in labels]
        ms = r.get("ms_per_face_2_threads", "-")
        lines.append(f"| {r['model']} | {r['input']} | " + " | ".join(cells) + f" | {ms} |")
    lines += [
        "",
        "Faces every model gets wrong (argmax), and of those the ones where every model gives the label "
        "P < 0.1:",
        "",
    ]
    lines += [
        f"- {lab}: {e['all_wrong']} of {e['n']} ({e['all_wrong_confident']} confidently)"
        for lab, e in shared.items()
    ]
    lines += ["", "Train commands:", ""] + [
        "- `{}`: `{}`".format(r["model"], "`, then `".join(r["command"].splitlines())) for r in rows[:-1]
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
