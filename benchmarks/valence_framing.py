"""Does `valence` see at run time the framing it was trained on?

`valence` was trained on FaceHack's own face crops, as the dataset gives them. At run time every
face is cut by the runtime's aligner (`grinlab.align.crop_face`, margin 0.2 unless
`--crop-margin` says otherwise) around the detector's box. This measures the gap between the two:

1. **Label-free**: the margin, in `crop_face`'s units, that FaceHack's crops correspond to. YuNet
   runs on each train crop (padded, since the crops are tight) and the crop's side is compared with
   the side `crop_face` would cut around that box: margin = crop side / crop_side(box, 0) - 1.
2. **On val**: the shipped `valence` (or `--model FILE`; its card's decision rule) on FaceHack val, given the dataset's
   crops and given runtime crops (detect -> align, as `grinlab evaluate --pipeline` does) at margins
   0.2 (the runtime's default), 0.1 and 0.0, on the same faces (those YuNet finds in the unpadded
   crop).

    python benchmarks/valence_framing.py            # writes benchmarks/work/results/valence_framing.{json,md}
    python benchmarks/valence_framing.py --update-results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench_io
import numpy as np
from valence_stack import MODELS

MARGINS = (0.2, 0.1, 0.0)


def implied_margins(images, detector) -> np.ndarray:
    """For each crop where YuNet finds a face: the crop_face margin whose crop has the crop's side."""
    import cv2

    from grinlab.align import crop_side

    out = []
    for im in images:
        h, w = im.shape[:2]
        pad = cv2.copyMakeBorder(im, h // 2, h // 2, w // 2, w // 2, cv2.BORDER_CONSTANT)
        boxes = detector.detect(pad)
        if boxes:  # the face nearest the crop's centre, as valence_pose.py picks it
            box = min(boxes, key=lambda b: (b.x + b.w / 2 - w) ** 2 + (b.y + b.h / 2 - h) ** 2)
            out.append(max(h, w) / crop_side(box, 0.0) - 1.0)
    return np.asarray(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(bench_io.SHARED / "data" / "facehack"), help="the FaceHack folder")
    p.add_argument("--yunet", default=str(bench_io.SHARED / "models" / "face_detection_yunet_2023mar.onnx"))
    p.add_argument(
        "--model", default=str(MODELS / "valence.onnx"), help="a valence model (default: the shipped one)"
    )
    bench_io.add_output_options(p, "valence_framing")
    args = p.parse_args(argv)
    bench_io.require(args.data)
    bench_io.require(args.yunet)
    out = Path(bench_io.output(args, "valence_framing"))
    from grinlab.align import DEFAULT_MARGIN, crop_largest_face
    from grinlab.classify import load_classifier
    from grinlab.data import load_splits
    from grinlab.detect import create_detector
    from grinlab.evaluate import calibrate
    from grinlab.evaluate.onnx_eval import match_classes

    valence = load_classifier(args.model)
    splits = {
        k: match_classes(v, valence.labels, "valence")
        for k, v in load_splits(args.data, task="valence").items()
    }
    detector = create_detector("yunet", model_path=args.yunet)
    m = implied_margins(splits["train"].images, detector)
    framing = {
        "n": int(len(m)),
        "of": len(splits["train"]),
        "median": float(np.median(m)),
        "p25": float(np.percentile(m, 25)),
        "p75": float(np.percentile(m, 75)),
    }
    print("FaceHack train crops as a crop_face margin:", json.dumps(framing), flush=True)

    val, y = splits["val"], np.asarray(splits["val"].labels)
    crops = {mg: [crop_largest_face(im, detector, margin=mg, size=96) for im in val.images] for mg in MARGINS}
    same = np.asarray([i for i in range(len(y)) if all(crops[mg][i] is not None for mg in MARGINS)])

    def measure(name: str, faces: list) -> dict:
        probs = valence.predict_proba(faces)
        row = {
            "input": name,
            "n": len(same),
            **calibrate.summary(y[same], valence.decision.decide(probs), valence.labels),
        }
        print(name, round(row["accuracy"], 3), round(row["macro_f1"], 3), flush=True)
        return row

    rows = [
        measure(
            "FaceHack's own crops (how valence was trained and is measured)", [val.images[i] for i in same]
        )
    ]
    for mg in MARGINS:
        default = " (the runtime's default)" if mg == DEFAULT_MARGIN else ""
        rows.append(
            measure(f"runtime crops, detect -> align, margin {mg}{default}", [crops[mg][i] for i in same])
        )
    meta = {
        "data": "FaceHack (seed-0 15% split)",
        "decision": valence.decision.describe(),
        "framing": framing,
    }
    Path(f"{out}.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines = [
        "# valence: the framing it was trained on against the framing it gets at run time",
        "",
        "Made with `python benchmarks/valence_framing.py --update-results`.",
        "",
        f"FaceHack's train crops, in `crop_face` margin units (YuNet found {framing['n']} of {framing['of']}): "
        f"median **{framing['median']:.2f}** (quartiles {framing['p25']:.2f} to {framing['p75']:.2f}); "
        f"the runtime cuts every face at margin {DEFAULT_MARGIN}.",
        "",
        f"`{valence.card.name}` on FaceHack val, the same {len(same)} faces (YuNet finds a face in the unpadded crop), "
        f"labels by its card's rule ({meta['decision']}):",
        "",
        "| input | accuracy | macro-F1 | recall no / positive / negative smile |",
        "|---|---|---|---|",
        *[
            f"| {r['input']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
            f"{r['recall']['no_smile']:.3f} / {r['recall']['positive_smile']:.3f} / {r['recall']['negative_smile']:.3f} |"
            for r in rows
        ],  # fmt: skip
        "",
        "Runtime crops of these tight photos have replicated edges where the margin reaches past the",
        "photo; a user's whole photo has real context there instead, so the runtime rows mix the framing",
        "with that artefact.",
    ]
    Path(f"{out}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out}.json and {out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
