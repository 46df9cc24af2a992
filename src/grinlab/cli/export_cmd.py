"""``grinlab export``: a trained run -> one ONNX file (softmax probabilities) + its model card."""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "export a run's best checkpoint to ONNX with a model card (checks torch/ONNX parity)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "run_dir", metavar="RUN_DIR", help="run folder made by 'grinlab train' (or a .pt checkpoint)"
    )
    p.add_argument(
        "--out",
        metavar="MODEL.onnx",
        required=True,
        help="ONNX file to write; the card goes beside it (.json)",
    )
    p.add_argument("--name", help="model name in the card (default: the file name)")
    p.add_argument(
        "--which", default="best", choices=("best", "last"), help="checkpoint to export (default best)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing ONNX file and card")


def run(args: argparse.Namespace) -> int:
    from ..train.export import export_onnx

    card = export_onnx(args.run_dir, args.out, name=args.name, force=args.force, which=args.which)
    parity = card.metrics["onnx_parity"]["max_abs_diff"]
    print(
        f"wrote {args.out} and its card ({card.task}: {', '.join(card.labels)}; parity max abs diff {parity:.1e})"
    )
    return 0
