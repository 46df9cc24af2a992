"""grinlab visualize: first-layer filters and feature maps of a face for a trained run."""

from __future__ import annotations

import argparse

NAME = "visualize"
HELP = "draw a run's first-layer filters and the feature maps of one face, stage by stage"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN_DIR", help="a run folder from `grinlab train` (or a .pt checkpoint)")
    p.add_argument("--image", required=True, help="a face image (a crop; use --detect for a whole photo)")
    p.add_argument(
        "--detect", action="store_true", help="find the largest face in --image first (detect + align)"
    )
    p.add_argument("--out", required=True, help="folder for the PNG grids")


def run(args) -> int:
    from ..evaluate.visualize import visualize
    from ..io.images import read_image
    from ..train.predict import load_run_model

    model, _config, spec, _classes = load_run_model(args.run, "best")
    face = read_image(args.image)
    if args.detect:
        from ..align import crop_largest_face
        from ..detect import create_detector
        from ..errors import GrinlabError

        face = crop_largest_face(face, create_detector("auto"))
        if face is None:
            raise GrinlabError(f"{args.image}: no face found; pass a face crop without --detect")
    for path in visualize(model, spec, face, args.out):
        print(path)
    return 0
