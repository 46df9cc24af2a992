"""GENKI-4K: uncropped photos ``files/fileNNNN.jpg``; line N of ``labels.txt`` is
``<smile> <yaw> <pitch> <roll>`` for fileN (1 = smile). An empty line marks a held-out image.

Faces are cropped with the same runtime code users get (``grinlab.detect`` + ``grinlab.align``),
so a model trained on these crops sees what it will see at inference. The crops are cached, keyed
by the detector and crop options.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..colour import to_grey
from ..errors import GrinlabError
from ..io.images import read_image
from ..labels import SMILE
from ..progress import progress_enabled
from .cache import cached_arrays, pack_images, unpack_images
from .dataset import FaceDataset

log = logging.getLogger(__name__)

LABELS_FILE = "labels.txt"
FILES_DIR = "files"
# Skip reasons, in the order they are checked.
SKIP_REASONS = ("held_out", "missing_file", "no_face")


def genki_file(root: Path, number: int) -> Path:
    return root / FILES_DIR / f"file{number:04d}.jpg"


def read_genki_labels(root: str | os.PathLike) -> list[tuple[int, int | None]]:
    """(file number, label) for every line of labels.txt; label None for a held-out (empty) line."""
    root = Path(root)
    path = root / LABELS_FILE
    if not path.is_file() or not (root / FILES_DIR).is_dir():
        raise GrinlabError(
            f"{root} is not a GENKI-4K folder; expected {root}/{LABELS_FILE} and {root}/{FILES_DIR}/"
        )
    entries = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                entries.append((n, None))
                continue
            if fields[0] not in ("0", "1"):
                raise GrinlabError(
                    f"{path} line {n}: smile label is {fields[0]!r}, expected 1 (smile) or 0 (no smile)"
                )
            entries.append((n, int(fields[0])))
    return entries


def _make_detector(detector: Any, options: dict) -> Any:
    """A detector object from a name ("auto" = yunet when its model is available, else haar)."""
    if not isinstance(detector, str):
        return detector
    from ..detect import create_detector  # the runtime detector users get

    if detector != "auto":
        return create_detector(detector, **options)
    try:
        return create_detector("yunet", **options)
    except GrinlabError as exc:
        log.warning("GENKI-4K: yunet unavailable (%s); cropping faces with haar", exc)
        return create_detector("haar")


def _crop_all(
    root: Path, detector: Any, margin: float, size: int | None, grey: bool
) -> dict[str, np.ndarray]:
    """Detect, pick the largest face, crop: the arrays that go into the cache."""
    from ..align import crop_largest_face

    crops, numbers, labels = [], [], []
    skipped: Counter[str] = Counter()
    entries = read_genki_labels(root)
    for number, label in tqdm(
        entries, desc="GENKI-4K faces", unit="img", leave=False, disable=not progress_enabled()
    ):
        if label is None:
            skipped["held_out"] += 1
            continue
        path = genki_file(root, number)
        if not path.is_file():
            skipped["missing_file"] += 1
            continue
        try:
            # BGR even for the two grey GENKI photos: the crops (and the cache) are all colour
            image = read_image(path, exif_orientation=True)
        except GrinlabError as exc:
            why = str(exc).removeprefix(f"{path}: ")
            raise GrinlabError(f"{path}: cannot read it as an image: {why}; restore or delete it") from None
        crop = crop_largest_face(image, detector, margin=margin, size=size)
        if crop is None:
            skipped["no_face"] += 1
            continue
        if grey:  # the colour crop made grey, not a crop of a grey photo: what the caches hold
            crop = to_grey(crop)
        crops.append(np.ascontiguousarray(crop, np.uint8))
        numbers.append(number)
        labels.append(label)
    return {
        **pack_images(crops),
        "numbers": np.asarray(numbers, np.int64),
        "labels": np.asarray(labels, np.int64),
        "skipped": np.asarray([skipped[r] for r in SKIP_REASONS], np.int64),
    }


def _resolution_rule(detector) -> dict:
    """What decides the resolution a detector looks at, beyond its options (YuNet's smallest
    reliable face, 2026-11-27); empty for detectors that detect at the size they are given."""
    from ..detect import yunet

    if not isinstance(detector, yunet.YuNetDetector):
        return {}
    return {"smallest_reliable_px": yunet.SMALLEST_RELIABLE_PX, "full_size_pixels": yunet.FULL_SIZE_PIXELS}


def load_genki4k(
    root: str | os.PathLike,
    detector: Any = "auto",
    crop_margin: float = 0.2,
    crop_size: int | None = 96,
    detector_options: dict | None = None,
    grey: bool = False,
    cache: bool = True,
) -> FaceDataset:
    """Load GENKI-4K as task "smile": one face crop per photo (the largest detected face).

    detector: a ``grinlab.detect`` backend name ("auto" = yunet if its model is available, else
        haar) or an object with ``detect(image_bgr) -> list[FaceBox]`` (not cached).
    crop_margin, crop_size: passed to ``grinlab.align.crop_face`` (crop_size None keeps the size).
    detector_options: keyword options for ``create_detector`` (e.g. a local model path).
    Held-out lines, missing files and photos without a face are counted in ``skipped``.
    """
    root = Path(root)
    read_genki_labels(root)  # validates the layout and labels before any detector work
    options = dict(detector_options or {})
    det = _make_detector(detector, options)
    name = detector if isinstance(detector, str) else type(detector).__name__
    if name == "auto":
        name = getattr(det, "name", type(det).__name__)
    key = {
        "loader": "genki4k-v1",
        "detector": name,
        # the detector's own resolution rule changes its boxes: crops cached under another rule are stale
        "detector_options": {**options, **_resolution_rule(det)},
        "margin": crop_margin,
        "size": crop_size,
        "grey": grey,
    }
    arrays = cached_arrays(
        "genki4k",
        [root / LABELS_FILE, root / FILES_DIR],
        key,
        lambda: _crop_all(root, det, crop_margin, crop_size, grey),
        enabled=cache and isinstance(detector, str),
    )
    skipped = {r: int(c) for r, c in zip(SKIP_REASONS, arrays["skipped"].tolist(), strict=True) if c}
    return FaceDataset(
        name="genki4k",
        task="smile",
        classes=SMILE,
        images=unpack_images(arrays["pixels"], arrays["shapes"]),
        labels=arrays["labels"],
        sources=[str(genki_file(root, n)) for n in arrays["numbers"].tolist()],
        skipped=skipped,
    )
