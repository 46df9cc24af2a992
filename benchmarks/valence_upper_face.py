"""Experiment-only dataset: the upper part of each FaceHack smile crop (eyes, brows, head pose),
written as an image folder with the SAME train/val split the FaceHack loader makes (seeded,
stratified by the three valence classes), so a run on it is comparable with a run on FaceHack.

    python benchmarks/valence_upper_face.py --out benchmarks/work/vx/upper55 --keep 0.55

Then ``grinlab train --data benchmarks/work/vx/upper55 --task smile_polarity ...``: the image-folder
loader uses its train/ and val/ folders. Not production code: it only asks whether the eye region
carries the positive/negative signal the mouth does not (see valence_experiments.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from grinlab.data import load_splits


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/facehack")
    p.add_argument("--out", required=True)
    p.add_argument("--keep", type=float, default=0.55, help="top share of the crop's height kept")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.15)
    args = p.parse_args(argv)
    splits = load_splits(args.data, task="smile_polarity", val_fraction=args.val_fraction, seed=args.seed)
    out = Path(args.out)
    for split, ds in splits.items():
        for im, y, src in zip(ds.images, ds.labels, ds.sources, strict=True):
            d = out / split / ds.classes[y]
            d.mkdir(parents=True, exist_ok=True)
            top = im[: max(1, round(im.shape[0] * args.keep))]
            cv2.imwrite(str(d / f"{Path(src).stem}.png"), top)
        print(
            split,
            len(ds),
            dict(zip(ds.classes, [int((ds.labels == c).sum()) for c in range(len(ds.classes))])),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
