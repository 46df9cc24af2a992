"""Evaluate an ONNX model (a shipped name or a file with its card) on a dataset, optionally
through the full detect -> align -> classify path for datasets of whole photos."""

from __future__ import annotations

import logging

import numpy as np

from ..data import FaceDataset
from ..errors import GrinlabError

log = logging.getLogger(__name__)


def match_classes(dataset: FaceDataset, labels: tuple[str, ...], model: str) -> FaceDataset:
    """Re-index the dataset's labels to the model's label order; refuse a mismatch by name."""
    if tuple(dataset.classes) == tuple(labels):
        return dataset
    missing = sorted(set(dataset.classes) - set(labels))
    if missing:
        raise GrinlabError(
            f"{dataset.name} has class(es) {', '.join(missing)} that model {model} does not know; "
            f"its labels are {', '.join(labels)} (name the class folders after them)"
        )
    remap = np.array([labels.index(c) for c in dataset.classes])
    return FaceDataset(dataset.name, dataset.task, tuple(labels), dataset.images, remap[dataset.labels],
                       dataset.sources, None, dict(dataset.skipped), dataset.split)  # fmt: skip


def crop_with_pipeline(
    dataset: FaceDataset, detector: str = "auto", **detector_options
) -> tuple[FaceDataset, int]:
    """Replace each whole photo by the crop of its largest face (the runtime's detect + align);
    photos without a face are dropped and counted."""
    from ..align import crop_face
    from ..detect import create_detector

    det = create_detector(detector, **detector_options)
    keep, crops = [], []
    for i, img in enumerate(dataset.images):
        faces = det.detect(img)
        if faces:
            keep.append(i)
            crops.append(crop_face(img, max(faces, key=lambda b: b.area)))
    not_found = len(dataset) - len(keep)
    sub = dataset.subset(keep)
    sub.images = crops
    sub.skipped = {**sub.skipped, "no_face": sub.skipped.get("no_face", 0) + not_found}
    return sub, not_found
