"""Do the shipped models see at run time the framing they were trained on?

`emotion7` and `emotion8` were trained on FER2013's 48x48 faces and `valence` on FaceHack's crops,
as the datasets give them. At run time every face is cut by the runtime's aligner
(`grinlab.align.crop_face`, margin 0.2 unless `--crop-margin` says otherwise) around the
detector's box. This measures the gap between the two:

1. **Label-free**: the margin, in `crop_face`'s units, that each dataset's crops correspond to.
   YuNet runs on each crop (small crops enlarged to 144 px first, all padded by half their side,
   since they are tight) and the crop's side is compared with the side `crop_face` would cut around
   that box: margin = crop side / crop_side(box, 0) - 1. GENKI-4K is not listed: its crops are cut
   by the runtime itself, at 0.2.
2. **On val**: a shipped model (its card's decision rule) on its val split, given the dataset's
   crops and given runtime crops (detect -> align, as `grinlab evaluate --pipeline` does) at margins
   0.2 (the runtime's default), 0.1 and 0.0, on the same faces (those YuNet finds in the crop,
   unpadded). Where the margin reaches past a tight crop the runtime crop repeats the crop's edge
   pixels; a whole photo would show real context there, so these rows mix framing and that artefact.
3. **Whole photos**, which have real context around the face: GENKI-4K through the runtime at each
   margin, every model's smile-vs-not score (emotion7's P(happy), emotion8's P(happiness),
   valence's 1 - P(no smile), smile's P(smile)) against GENKI's smile labels: ROC AUC. smile trained
   on GENKI-4K train (crops at 0.2), the others never saw GENKI.

    python benchmarks/framing.py            # writes benchmarks/work/results/framing.{json,md}
    python benchmarks/framing.py --update-results
    python benchmarks/framing.py --case valence --model benchmarks/work/valence_kd_r18_int8.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench_io
import numpy as np

DATA = bench_io.SHARED / "data"
MODELS = Path(__file__).resolve().parent.parent / "src" / "grinlab" / "models"
MARGINS = (0.2, 0.1, 0.0)
DETECT_SIDE = 144  # small crops are enlarged to this before YuNet (its smallest reliable face is ~20 px)
# name -> (dataset, task, split to measure framing on, at most this many crops of it)
DATASETS = {
    "FaceHack": (DATA / "facehack", "valence", "train", None),
    "FER2013": (DATA / "fer2013" / "fer2013.csv.xz", "emotion7", "train", 2000),
    "SMILEsmileD": (DATA / "smilesmiled", "smile", "train", 2000),
}
# case -> (shipped model, dataset, task, split)
CASES = {
    "valence": ("valence", DATA / "facehack", "valence", "val"),
    "emotion7": ("emotion7", DATA / "fer2013" / "fer2013.csv.xz", "emotion7", "val"),
}


def detectable(image: np.ndarray) -> np.ndarray:
    """BGR, enlarged so its shorter side is at least DETECT_SIDE."""
    import cv2

    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = DETECT_SIDE / min(image.shape[:2])
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return image


def implied_margins(images, detector) -> np.ndarray:
    """For each crop where YuNet finds a face: the crop_face margin whose crop has the crop's side."""
    from valence_pose import centre_face

    from grinlab.align import crop_side

    out = []
    for im in images:
        im = detectable(im)
        box = centre_face(im, detector)
        if box is not None:
            out.append(max(im.shape[:2]) / crop_side(box, 0.0) - 1.0)
    return np.asarray(out)


def measure_case(case: str, clf, detector) -> dict:
    """The model on its val split: the dataset's crops and runtime crops at each margin, same faces."""
    from grinlab.align import DEFAULT_MARGIN, crop_largest_face
    from grinlab.data import load_splits
    from grinlab.evaluate import calibrate
    from grinlab.evaluate.onnx_eval import match_classes

    _, data, task, split = CASES[case]
    ds = match_classes(load_splits(data, task=task)[split], clf.labels, clf.card.name)
    y = np.asarray(ds.labels)
    big = [detectable(im) for im in ds.images]
    crops = {mg: [crop_largest_face(im, detector, margin=mg, size=96) for im in big] for mg in MARGINS}
    same = np.asarray([i for i in range(len(y)) if all(crops[mg][i] is not None for mg in MARGINS)])

    def row(name: str, faces: list) -> dict:
        pred = clf.decision.decide(clf.predict_proba(faces))
        r = {"input": name, **calibrate.summary(y[same], pred, clf.labels)}
        print(case, name, round(r["accuracy"], 4), round(r["macro_f1"], 4), flush=True)
        return r

    rows = [
        row("the dataset's crops (how the model was trained and is measured)", [ds.images[i] for i in same])
    ]
    for mg in MARGINS:
        default = " (the runtime's default)" if mg == DEFAULT_MARGIN else ""
        rows.append(
            row(f"runtime crops, detect -> align, margin {mg}{default}", [crops[mg][i] for i in same])
        )
    return {"model": clf.card.name, "data": f"{ds.name} {split}", "n": len(same), "of": len(y),
            "decision": clf.decision.describe(), "rows": rows}  # fmt: skip


def whole_photos(yunet: str) -> dict:
    """{margin: {model: ROC AUC of its smile-vs-not score on GENKI-4K's labels}} (every labelled photo)."""
    from valence_pose import roc_auc

    from grinlab.classify import load_classifier
    from grinlab.data.genki4k import load_genki4k

    def score(clf, probs):
        labels = list(clf.labels)
        if clf.card.task == "valence":
            return 1 - probs[:, labels.index("no_smile")]
        return probs[:, [i for i, name in enumerate(labels) if name in ("happy", "happiness", "smile")][0]]

    models = {n: load_classifier(MODELS / f"{n}.onnx") for n in ("emotion7", "emotion8", "valence", "smile")}
    out = {}
    for mg in MARGINS:
        ds = load_genki4k(
            DATA / "genki4k", detector="yunet", detector_options={"model_path": yunet}, crop_margin=mg
        )
        y = np.asarray(ds.labels)
        out[mg] = {
            "n": len(y),
            **{n: roc_auc(y, score(c, c.predict_proba(list(ds.images)))) for n, c in models.items()},
        }
        print("GENKI-4K margin", mg, json.dumps(out[mg]), flush=True)
    return out


def case_models(cases: list[str], model: str | None) -> dict:
    """Each case's classifier, loaded and checked before any minutes of detection are spent."""
    from grinlab.classify import load_classifier
    from grinlab.errors import GrinlabError

    out = {}
    for c in cases:
        clf = load_classifier(model or MODELS / f"{CASES[c][0]}.onnx")
        if clf.card.task != CASES[c][2]:
            raise GrinlabError(
                f"{clf.card.name} is for task {clf.card.task}; case {c} needs a {CASES[c][2]} model"
            )
        out[c] = clf
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--yunet", default=str(bench_io.SHARED / "models" / "face_detection_yunet_2023mar.onnx"))
    p.add_argument("--case", choices=sorted(CASES), action="append", help="default: every case")
    p.add_argument("--model", help="with one --case: another model file for it (default: the shipped one)")
    bench_io.add_output_options(p, "framing")
    args = p.parse_args(argv)
    cases = args.case or list(CASES)
    if args.model and len(cases) != 1:
        p.error("--model needs exactly one --case")
    bench_io.require(args.yunet, *(CASES[c][1] for c in cases))
    out = Path(bench_io.output(args, "framing"))
    from grinlab.align import DEFAULT_MARGIN
    from grinlab.data import load_splits
    from grinlab.detect import create_detector
    from grinlab.errors import GrinlabError

    try:
        models = case_models(cases, args.model)
    except GrinlabError as exc:  # a missing or broken file, or a model for another task
        print(f"framing.py: {exc}", file=sys.stderr)
        return 2
    detector = create_detector("yunet", model_path=args.yunet, min_face_size=20)
    framing = {}
    for name, (data, task, split, most) in DATASETS.items():
        if not Path(data).exists():
            continue
        ds = load_splits(data, task=task)[split]
        pick = range(len(ds)) if most is None else np.random.default_rng(0).permutation(len(ds))[:most]
        m = implied_margins([ds.images[i] for i in pick], detector)
        framing[name] = {"n": int(len(m)), "of": len(pick), "median": float(np.median(m)),
                         "p25": float(np.percentile(m, 25)), "p75": float(np.percentile(m, 75))}  # fmt: skip
        print(name, json.dumps(framing[name]), flush=True)
    results = {c: measure_case(c, clf, detector) for c, clf in models.items()}
    whole = {} if args.model or not (DATA / "genki4k").exists() else whole_photos(args.yunet)
    lines = [
        "# The framing each model was trained on against the framing it gets at run time",
        "",
        "Made with `python benchmarks/framing.py --update-results`.",
        "",
        f"Each dataset's crops in `crop_face` margin units (the runtime cuts every face at {DEFAULT_MARGIN}):",
        "",
        "| dataset (train) | crops measured | median margin | quartiles |",
        "|---|---|---|---|",
        *[
            f"| {k} | {v['n']} of {v['of']} | **{v['median']:.2f}** | {v['p25']:.2f} to {v['p75']:.2f} |"
            for k, v in framing.items()
        ],  # fmt: skip
    ]
    for r in results.values():
        lines += [
            "",
            f"## `{r['model']}` on {r['data']}: the same {r['n']} of {r['of']} faces",
            "",
            f"Labels by its card's rule ({r['decision']}).",
            "",
            "| input | accuracy | macro-F1 | recall per class |",
            "|---|---|---|---|",
            *[
                f"| {x['input']} | {x['accuracy']:.3f} | {x['macro_f1']:.3f} | "
                + ", ".join(f"{k} {v:.2f}" for k, v in x["recall"].items())
                + " |"
                for x in r["rows"]
            ],  # fmt: skip
        ]
    if whole:
        names = [k for k in whole[MARGINS[0]] if k != "n"]
        lines += [
            "",
            f"## Whole photos: GENKI-4K ({whole[MARGINS[0]]['n']} labelled photos) through the runtime, smile vs not",
            "",
            "ROC AUC of each model's smile score against GENKI's labels, the faces cut at each margin:",
            "",
            "| margin | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
            *[f"| {mg} | " + " | ".join(f"{whole[mg][n]:.4f}" for n in names) + " |" for mg in MARGINS],
        ]
    lines += [
        "",
        "Where the margin reaches past a tight crop the runtime crop repeats its edge pixels (a whole",
        "photo would show real context there), so the runtime rows mix the framing with that artefact.",
    ]
    bench_io.write_results(out, {"framing": framing, "cases": results, "genki4k": whole}, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
