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
    from ..align import crop_largest_face
    from ..detect import create_detector
    from ..io.images import read_image

    det = create_detector(detector, **detector_options)
    keep, crops = [], []
    samples = zip(dataset.images, dataset.sources, strict=True)
    for i, (img, source) in enumerate(
        tqdm(samples, total=len(dataset), desc="detect faces", unit="photo", disable=not progress_enabled())
    ):
        if Path(source).is_file():
            try:  # read as the dataset loaders read it (grinlab.data.folder.read_images)
                img = read_image(source, keep_grey=True, exif_orientation=True)
            except GrinlabError:  # the loader read it once; if it cannot now, keep the loaded image
                pass
        crop = crop_largest_face(img, det)
        if crop is not None:
            keep.append(i)
            crops.append(crop)
    not_found = len(dataset) - len(keep)
    sub = dataset.subset(keep)
    sub.images = crops
    sub.skipped = {**sub.skipped, "no_face": sub.skipped.get("no_face", 0) + not_found}
    return sub, not_found


WHOLE_PHOTO_FACE_SHARE = 0.3  # a face covering less of its image than this: a photo, not a crop


def whole_photo_share(
    dataset: FaceDataset, detector: str = "auto", sample: int = 8, **detector_options
) -> float:
    """The share of up to ``sample`` images (evenly spread) in which the detector finds a face
    covering less than WHOLE_PHOTO_FACE_SHARE of the image: high means the "crops" are whole photos
    that need ``--pipeline``. Tiny crops (FER2013's 48x48) are not searched."""
    from ..detect import create_detector

    picks = [i for i in np.linspace(0, len(dataset) - 1, min(sample, len(dataset))).astype(int)
             if min(dataset.images[i].shape[:2]) >= 96]  # fmt: skip
    if not picks:
        return 0.0
    det = create_detector(detector, **detector_options)
    small = 0
    for i in picks:
        img = dataset.images[i]
        faces = det.detect(img)
        if faces and max(b.area for b in faces) < WHOLE_PHOTO_FACE_SHARE * img.shape[0] * img.shape[1]:
            small += 1
    return small / len(picks)


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
