"""Is the smile intensity monotonic with how strongly a face smiles?

Graded truth: the FER+ crowd votes. Each FER2013 face was labelled by 10 people; the share who
chose "happiness" grows with how clearly the face smiles. On FER2013 PublicTest (the standard
validation split; no test data) this measures Spearman's rho between a model's smile intensity and
that share, and the mean intensity per number of happiness votes. It also gives the intensity of
the faces in the real test photos through the full detect -> align -> classify path, and draws a
strip of real faces ordered by intensity (smile_intensity.png).

    python benchmarks/smile_intensity.py --model smile
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import bench_io
import cv2
import numpy as np
from scipy.stats import spearmanr

from grinlab.classify import load_classifier
from grinlab.data.fer2013 import load_fer2013
from grinlab.pipeline import Analyzer, AnalyzerOptions
from grinlab.shipped import resolve_model

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))
PHOTOS = ["astronaut.png", "white_house/obama.jpg", "white_house/biden.jpg", "dlib_faces/2008_002506.jpg"]


def intensity_from_probs(labels: tuple[str, ...], probs: np.ndarray) -> np.ndarray:
    """The Analyzer's definition (grinlab.pipeline.smile_intensity) for one model's outputs."""
    if "smile" in labels:
        return probs[:, labels.index("smile")]
    if "positive_smile" in labels:
        return probs[:, labels.index("positive_smile")] + probs[:, labels.index("negative_smile")]
    return probs[:, labels.index("happy")]


def strip(faces: list[np.ndarray], values: list[float], path: Path, tile: int = 96) -> None:
    tiles = []
    for face, v in zip(faces, values):
        t = cv2.resize(face, (tile, tile), interpolation=cv2.INTER_LINEAR)
        t = cv2.cvtColor(t, cv2.COLOR_GRAY2BGR) if t.ndim == 2 else t
        t = cv2.copyMakeBorder(t, 0, 18, 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        cv2.putText(
            t,
            f"{v:.2f}",
            (tile // 2 - 16, tile + 13),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        tiles.append(t)
    cv2.imwrite(str(path), np.hstack(tiles))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smile", help="shipped model name or .onnx / cascade path")
    p.add_argument("--fer2013", default=str(SHARED / "data/fer2013/fer2013.csv.xz"))
    p.add_argument("--ferplus", default=str(SHARED / "data/fer2013/ferplus/fer2013new.csv"))
    p.add_argument("--photos", default=str(SHARED / "data/test-photos"))
    p.add_argument("--yunet", default=str(SHARED / "models/face_detection_yunet_2023mar.onnx"))
    bench_io.add_output_options(p, "smile_intensity")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "smile_intensity")
    bench_io.require(args.fer2013, args.ferplus, args.photos, args.yunet)

    ds = load_fer2013(
        args.fer2013, usage="PublicTest", task="emotion7", ferplus=args.ferplus, label_mode="soft"
    )
    happy_share = ds.soft_labels[:, ds.classes.index("happy")]
    clf = load_classifier(resolve_model(args.model))
    probs = np.concatenate([clf.predict_proba(ds.images[i : i + 512]) for i in range(0, len(ds), 512)])
    intensity = intensity_from_probs(clf.labels, probs)
    rho = spearmanr(intensity, happy_share).statistic
    # votes over the 7 emotions only (FER+ "contempt" etc. dropped), so shares are k/n, not k/10:
    # bin them in tenths
    bins = np.clip(np.round(happy_share * 10).astype(int), 0, 10)
    per_bin = {
        f"{b / 10:.1f}": {
            "n": int((bins == b).sum()),
            "mean_intensity": round(float(intensity[bins == b].mean()), 3),
        }
        for b in range(11)
        if (bins == b).any()
    }
    means = [v["mean_intensity"] for v in per_bin.values()]
    monotonic = all(a <= b for a, b in zip(means, means[1:]))

    # one real face per bin, ordered by intensity, for the picture
    rng = np.random.default_rng(0)
    picks = [int(rng.choice(np.flatnonzero(bins == b))) for b in range(0, 11, 2) if (bins == b).any()]
    picks.sort(key=lambda i: intensity[i])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    strip([ds.images[i] for i in picks], [float(intensity[i]) for i in picks], out.with_suffix(".png"))

    photos = {}
    with Analyzer(
        AnalyzerOptions(detector="yunet", detector_options={"model_path": args.yunet}, models=(args.model,))
    ) as a:
        for name in PHOTOS:
            result = a.analyze(cv2.imread(str(Path(args.photos) / name)))
            photos[name] = [round(f.smile_intensity, 3) for f in result.faces]
    doc = {
        "command": shlex.join(["python", *sys.argv]),
        "model": args.model,
        "definition": "smile intensity = P(smile) of the smile model (P(positive)+P(negative smile) of a "
        "valence model, P(happy) of an emotion model); 0.5 is the decision threshold",
        "graded_truth": "FER+ share of the 10 crowd votes that chose happiness, FER2013 PublicTest faces",
        "n": len(ds),
        "spearman_rho": round(float(rho), 4),
        "mean_intensity_by_happy_vote_share": per_bin,
        "bin_means_monotonic": monotonic,
        "strip": {"file": out.with_suffix(".png").name, "happy_vote_share": [round(float(happy_share[i]), 2) for i in picks],
                  "intensity": [round(float(intensity[i]), 3) for i in picks]},
        "photos_full_pipeline_yunet": photos,
    }  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    print(
        json.dumps({k: doc[k] for k in ("spearman_rho", "bin_means_monotonic", "photos_full_pipeline_yunet")})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
