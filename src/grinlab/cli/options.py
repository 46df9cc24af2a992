"""Pieces of argument handling shared by several subcommands."""

from __future__ import annotations


def detector_options(args) -> dict:
    """DetectorOptions keywords from --yunet-model, --min-face and --detect-width (where the
    subcommand has them and they were given)."""
    opts = {}
    if getattr(args, "yunet_model", None):
        opts["model_path"] = args.yunet_model
    if getattr(args, "min_face", None):
        opts["min_face_size"] = args.min_face
    if getattr(args, "detect_width", None):
        opts["detect_width"] = args.detect_width
    return opts


FLIP_TTA_HELP = (
    "also classify each face's mirror image and average the probabilities (flip test-time "
    "augmentation): twice the classify cost; README > Models gives the accuracy with and without it"
)
