"""Does head pose or mouth shape tell negative smiles from positive ones where `valence` cannot?

Issue 15 noted that FaceHack's negative smiles look embarrassed or nervous (gaze averted, head
lowered) and asked whether head pose carries what the 48x48 grey crop does not. YuNet already
gives five landmarks per face, so pose and mouth shape are free at inference. This measures them:

1. YuNet runs on every FaceHack crop (padded, since the crops are tight), and eight numbers are
   read from its landmarks: roll, a yaw and a pitch proxy, mouth width, mouth-corner tilt (one
   corner higher: an asymmetric smile), mouth height below the eyes, face size in the crop and
   the detector's score.
2. **Signal alone**: a class-balanced logistic regression on those numbers, positive vs negative
   smile, 5-fold cross-validated on FaceHack train's smiles (ROC AUC and balanced accuracy), then
   fitted on all train smiles and scored on val's.
3. **Added to valence**: a 3-class regression on the geometry fitted on train gives each val face
   three log-probabilities; a regression on those plus valence's own log-probabilities is fitted
   and its class weights chosen per half, exactly as `valence_stack.py` does (2-fold x 5 seeds,
   calibrate's halves and constraint). The first row is calibrate's estimate for valence alone.

    python benchmarks/valence_pose.py            # writes benchmarks/work/results/valence_pose.{json,md}
    python benchmarks/valence_pose.py --update-results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench_io
import numpy as np
from valence_stack import CONSTRAINT, MODELS, cross_validated, fit_logistic

FEATURES = (
    "roll (eye line, rad)",
    "yaw proxy (nose off the eye midpoint / eye distance)",
    "pitch proxy (nose depth between eye line and mouth)",
    "mouth width / eye distance",
    "mouth-corner tilt / eye distance",
    "mouth below eyes / eye distance",
    "face width / crop width",
    "detector score",
)


def centre_face(crop: np.ndarray, detector):
    """The face nearest the centre of a tight face crop (neighbours' faces sometimes show at the
    edges), found in the crop padded by half its size, since detectors miss faces that touch the
    border; its box in padded coordinates (the crop's centre is at (w, h)), or None."""
    import cv2

    h, w = crop.shape[:2]
    pad = cv2.copyMakeBorder(crop, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_CONSTANT)
    boxes = [b for b in detector.detect(pad) if b.landmarks is not None]
    if not boxes:
        return None
    return min(boxes, key=lambda b: (b.x + b.w / 2 - w) ** 2 + (b.y + b.h / 2 - h) ** 2)


def geometry(images, detector) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 8), found (n,) bool) from YuNet's landmarks on each crop's centre_face; a
    crop where no face is found gets the train median later (found False)."""
    feats, found = np.zeros((len(images), len(FEATURES))), np.zeros(len(images), bool)
    for i, im in enumerate(images):
        w = im.shape[1]
        box = centre_face(im, detector)
        if box is None:
            continue
        pts = np.asarray(box.landmarks, float)  # right eye, left eye, nose, right/left mouth corner
        eye = np.hypot(*(pts[1] - pts[0])) + 1e-6
        a = np.arctan2(*(pts[1] - pts[0])[::-1])
        # into the eye line's frame (origin between the eyes) so roll does not leak into the rest
        c, s = np.cos(a), np.sin(a)
        p = (pts - pts[:2].mean(0)) @ np.array([[c, -s], [s, c]])
        mouth = p[3:].mean(0)
        feats[i] = (
            a,
            p[2, 0] / eye,
            p[2, 1] / (mouth[1] + 1e-6),
            np.hypot(*(pts[4] - pts[3])) / eye,
            (p[4, 1] - p[3, 1]) / eye,
            mouth[1] / eye,
            box.w / w,
            box.score,
        )
        found[i] = True
    return feats, found


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    for v in np.unique(score):  # average ranks of ties
        tie = score == v
        ranks[tie] = ranks[tie].mean()
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))


def balanced(x: np.ndarray, y: np.ndarray, n_classes: int):
    """fit_logistic with each class weighted equally, by resampling to equal counts (seeded)."""
    rng = np.random.default_rng(0)
    top = np.bincount(y, minlength=n_classes).max()
    idx = np.concatenate([rng.choice(np.flatnonzero(y == k), top, replace=True) for k in range(n_classes)])
    return fit_logistic(x[idx], y[idx], n_classes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(bench_io.SHARED / "data" / "facehack"), help="the FaceHack folder")
    p.add_argument("--yunet", default=str(bench_io.SHARED / "models" / "face_detection_yunet_2023mar.onnx"))
    bench_io.add_output_options(p, "valence_pose")
    args = p.parse_args(argv)
    bench_io.require(args.data)
    bench_io.require(args.yunet)
    out = Path(bench_io.output(args, "valence_pose"))
    from grinlab.classify import load_classifier
    from grinlab.data import load_splits
    from grinlab.detect import create_detector
    from grinlab.errors import GrinlabError
    from grinlab.evaluate.calibrate import plain_and_flip_tta
    from grinlab.evaluate.onnx_eval import match_classes
    from grinlab.preprocess import fit_crop

    valence = load_classifier(MODELS / "valence.onnx")
    try:  # e.g. a folder without FaceHack's valence labels
        splits = {
            k: match_classes(v, valence.labels, "valence")
            for k, v in load_splits(args.data, task="valence").items()
        }
    except GrinlabError as exc:
        print(f"valence_pose.py: {exc}", file=sys.stderr)
        return 2
    neg, pos = valence.labels.index("negative_smile"), valence.labels.index("positive_smile")
    detector = create_detector("yunet", model_path=args.yunet, min_face_size=40, score_threshold=0.3)
    geo, found, y = {}, {}, {}
    for name, ds in splits.items():
        geo[name], found[name] = geometry(ds.images, detector)
        y[name] = np.asarray(ds.labels, int)
        print(f"{name}: landmarks on {found[name].sum()} of {len(ds)} crops", flush=True)
    fill = np.median(geo["train"][found["train"]], 0)
    for name in geo:
        geo[name][~found[name]] = fill

    # 1. the signal alone, smiles only: positive (0) vs negative (1)
    def smiles(name):
        keep = np.isin(y[name], (neg, pos))
        return geo[name][keep], (y[name][keep] == neg).astype(int)

    xs, ys = smiles("train")
    rng, folds = np.random.default_rng(0), np.zeros(len(ys), int)
    for k in (0, 1):  # stratified 5 folds
        idx = rng.permutation(np.flatnonzero(ys == k))
        folds[idx] = np.arange(len(idx)) % 5
    oof = np.zeros(len(ys))
    for f in range(5):
        oof[folds == f] = balanced(xs[folds != f], ys[folds != f], 2)(xs[folds == f])[:, 1]
    per_feature = {name: roc_auc(ys, xs[:, j]) for j, name in enumerate(FEATURES)}
    cv_pred = (oof >= 0.5).astype(int)
    signal = {
        "train_smiles": int(len(ys)),
        "train_negative": int(ys.sum()),
        "cv5_auc": roc_auc(ys, oof),
        "cv5_balanced_accuracy": float(np.mean([np.mean(cv_pred[ys == k] == k) for k in (0, 1)])),
        "per_feature_auc": per_feature,
    }
    xv, yv = smiles("val")
    sv = balanced(xs, ys, 2)(xv)[:, 1]
    signal["val_auc"] = roc_auc(yv, sv)
    signal["val_balanced_accuracy"] = float(np.mean([np.mean((sv >= 0.5)[yv == k] == k) for k in (0, 1)]))
    vp, vf = plain_and_flip_tta(
        valence, np.stack([fit_crop(im, valence.card.preprocessing) for im in splits["val"].images])
    )
    keep = np.isin(y["val"], (neg, pos))
    share = vp[keep][:, neg] / (vp[keep][:, neg] + vp[keep][:, pos])
    signal["val_auc_valence_net"] = roc_auc(yv, share)  # the shipped net on the same question, for scale
    print(json.dumps(signal, indent=1), flush=True)

    # 2. added to valence (3 classes, calibrate's halves)
    geo3 = np.log(np.clip(balanced(geo["train"], y["train"], 3)(geo["val"]), 1e-6, 1))
    rows = []
    for mode, probs in (("plain", vp), ("flip_tta", vf)):
        logp = np.log(np.clip(probs, 1e-6, 1))
        for inputs, feats in (
            ("valence alone, calibrate's rule (no regression)", None),
            ("regression on valence", logp),
            (
                "regression on valence + geometry (3 log-probabilities fitted on train)",
                np.concatenate([logp, geo3], 1),
            ),
            ("regression on valence + the 8 geometry numbers", np.concatenate([logp, geo["val"]], 1)),
        ):
            rows.append(
                {"inputs": inputs, "mode": mode, **cross_validated(y["val"], valence.labels, feats, probs)}
            )
            print(inputs, mode, round(rows[-1]["accuracy"], 3), round(rows[-1]["macro_f1"], 3), flush=True)
    meta = {"data": "FaceHack (seed-0 15% split)", "n_val": int(len(y["val"])), "constraint": CONSTRAINT,
            "landmarks_found": {k: int(v.sum()) for k, v in found.items()}}  # fmt: skip
    lines = [
        f"# Head pose and mouth shape from YuNet's landmarks as a valence signal ({meta['data']})",
        "",
        "Made with `python benchmarks/valence_pose.py --update-results`. Landmarks found on "
        + ", ".join(f"{v} of {len(splits[k])} {k} crops" for k, v in meta["landmarks_found"].items())
        + " (the rest get train's median).",
        "",
        f"## The signal alone: positive vs negative smile ({signal['train_smiles']} train smiles, "
        f"{signal['train_negative']} negative)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| 5-fold CV on train, class-balanced regression on the 8 numbers: ROC AUC | {signal['cv5_auc']:.3f} |",
        f"| the same, balanced accuracy | {signal['cv5_balanced_accuracy']:.3f} |",
        f"| fitted on train, val smiles: ROC AUC | {signal['val_auc']:.3f} |",
        f"| the same, balanced accuracy | {signal['val_balanced_accuracy']:.3f} |",
        f"| shipped valence net on val smiles, P(neg) / (P(neg) + P(pos)): ROC AUC | {signal['val_auc_valence_net']:.3f} |",
        "",
        "Each number alone, ROC AUC for negative (0.5 = no signal; below 0.5 = lower for negative smiles):",
        "",
        "| feature | ROC AUC on train smiles |",
        "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in per_feature.items()],
        "",
        f"## Added to valence: 3 classes, val (n={meta['n_val']}), 2-fold x 5 seeds, class weights under `{CONSTRAINT}`",
        "",
        "| inputs | mode | accuracy | macro-F1 | negative-smile recall |",
        "|---|---|---|---|---|",
        *[
            f"| {r['inputs']} | {r['mode']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
            f"{r['recall']['negative_smile']:.3f} |"
            for r in rows
        ],  # fmt: skip
    ]
    bench_io.write_results(out, {**meta, "signal": signal, "rows": rows}, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
