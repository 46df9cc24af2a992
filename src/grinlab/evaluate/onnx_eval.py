"""Evaluate an ONNX model (a shipped name or a file with its card) on a dataset, optionally
through the full detect -> align -> classify path for datasets of whole photos."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..data import FaceDataset
from ..errors import GrinlabError
from ..progress import progress_enabled

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
    soft = None
    if dataset.soft_labels is not None:  # same distributions, columns in the model's order
        soft = np.zeros((len(dataset), len(labels)), dataset.soft_labels.dtype)
        soft[:, remap] = dataset.soft_labels
    return FaceDataset(
        name=dataset.name, task=dataset.task, classes=tuple(labels), images=dataset.images,
        labels=remap[dataset.labels], sources=dataset.sources, soft_labels=soft,
        skipped=dict(dataset.skipped), split=dataset.split,
    )  # fmt: skip


def crop_with_pipeline(
    dataset: FaceDataset, detector: str = "auto", **detector_options
) -> tuple[FaceDataset, int]:
    """Replace each sample by the crop of the largest face in its photo (the runtime's detect +
    align); photos without a face are dropped and counted.

    The photo is the sample's source file as stored on disk when there is one: loaders that crop
    faces themselves (GENKI-4K) keep the split but must not be cropped twice. Samples without a
    file (FER2013 csv rows) use the image in memory."""
    from ..align import crop_face
    from ..data.folder import read_image
    from ..detect import create_detector

    det = create_detector(detector, **detector_options)
    keep, crops = [], []
    samples = zip(dataset.images, dataset.sources, strict=True)
    for i, (img, source) in enumerate(
        tqdm(samples, total=len(dataset), desc="detect faces", unit="photo", disable=not progress_enabled())
    ):
        photo = read_image(source) if Path(source).is_file() else None
        img = img if photo is None else photo
        faces = det.detect(img)
        if faces:
            keep.append(i)
            crops.append(crop_face(img, max(faces, key=lambda b: b.area)))
    not_found = len(dataset) - len(keep)
    sub = dataset.subset(keep)
    sub.images = crops
    sub.skipped = {**sub.skipped, "no_face": sub.skipped.get("no_face", 0) + not_found}
    return sub, not_found


def evaluate_onnx(
    model: str | Path,
    dataset: FaceDataset,
    out_dir: str | Path,
    pipeline: bool = False,
    detector: str = "auto",
    detector_options: dict | None = None,
    threads: int | None = None,
    **report_options,
) -> dict:
    """Report (``grinlab.evaluate.report.evaluate_predictor``) of an ONNX model, given as a shipped
    name or an .onnx path with its card, on ``dataset``. The dataset's classes are matched to the
    model's labels by name; with ``pipeline`` every sample is a whole photo that goes through the
    runtime's detect + align first (the summary then counts ``faces_not_found``)."""
    from ..classify import load_classifier
    from ..shipped import resolve_model
    from .report import evaluate_predictor

    clf = load_classifier(resolve_model(model), threads=threads)
    dataset = match_classes(dataset, clf.labels, clf.card.name)
    not_found = 0
    if pipeline:
        dataset, not_found = crop_with_pipeline(dataset, detector, **(detector_options or {}))
        if not_found:
            log.info("%d of %d photos without a face were left out", not_found, not_found + len(dataset))
    report_options.setdefault("name", clf.card.name)
    summary = evaluate_predictor(
        clf.predict_prepared,
        dataset,
        clf.card.preprocessing,
        out_dir,
        decision=clf,  # its card's rules, plain and flip TTA
        **report_options,
    )
    summary["faces_not_found"] = not_found
    return summary
