"""Image-folder datasets: ``<root>/<class>/**/*.jpg`` or ``<root>/<split>/<class>/**/*.jpg``
(any suffix of ``grinlab.io.images.IMAGE_SUFFIXES``, read by its ``read_image``).

Class folder names map onto a task's labels case-insensitively ("-" and " " read as "_"), with a
few common aliases (see ``CLASS_ALIASES``), so e.g. the Kaggle msambare FER2013 release
(``train/happy``, ``test/neutral``...) loads as emotion7 or happy_neutral without renaming.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..colour import to_grey
from ..errors import GrinlabError
from ..io.images import IMAGE_SUFFIXES, ImageTooLarge, read_image
from ..labels import EMOTION7, task_labels
from ..progress import progress_enabled
from .dataset import FaceDataset

log = logging.getLogger(__name__)

# Split folder name -> canonical split.
SPLIT_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
# task -> label -> extra folder names accepted for it (the label itself always matches).
CLASS_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "emotion7": {
        "angry": ("anger", "mad"),
        "disgust": ("disgusted",),
        "fear": ("fearful", "afraid", "scared"),
        "happy": ("happiness", "joy"),
        "sad": ("sadness",),
        "surprise": ("surprised",),
        "neutral": ("calm",),
    },
    "smile": {
        "smile": ("smiling", "smiles", "positive", "positives"),
        "no_smile": ("nosmile", "non_smile", "not_smile", "neutral", "negative", "negatives"),
    },
    "valence": {
        "no_smile": ("nosmile", "non_smile", "not_smile", "neutral"),
        "positive_smile": ("positive",),
        "negative_smile": ("negative",),
    },
    "happy_neutral": {
        "smile": ("happy", "happiness", "smiling"),
        "no_smile": ("neutral", "non_smile", "not_smile", "nosmile"),
    },
}
# happy_neutral reads an emotion7 folder tree: its other five emotions are left out, not errors.
_IGNORED_FOLDERS = {"happy_neutral": {n for e in EMOTION7 for n in (e, *CLASS_ALIASES["emotion7"][e])}}


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def read_images(
    paths: Sequence[Path],
    grey: bool = False,
    skip_unreadable: bool = False,
    desc: str = "reading images",
    where: Sequence[str] | None = None,
) -> tuple[list[np.ndarray], list[int]]:
    """Decode ``paths`` with ``grinlab.io.images.read_image`` as datasets read images: following
    EXIF orientation, grey files grey (H, W) and colour ones BGR, or all grey (``grinlab.colour``)
    when ``grey``. Returns the images and the indices of the paths they came from. An unreadable
    file raises a GrinlabError naming it (prefixed by ``where[i]``, e.g. the csv row that lists
    it), or is left out when ``skip_unreadable``."""
    images, kept = [], []
    for i, p in enumerate(
        tqdm(paths, desc=desc, unit="img", leave=False, disable=len(paths) < 500 or not progress_enabled())
    ):
        try:
            image = read_image(p, keep_grey=True, exif_orientation=True)
        except GrinlabError as exc:  # empty, corrupt, not an image, over the pixel limit
            why = str(exc).removeprefix(f"{p}: ")
            if not isinstance(exc, ImageTooLarge):
                why = f"cannot read it as an image: {why}"
            if not skip_unreadable:
                prefix = f"{where[i]}: " if where is not None else ""
                raise GrinlabError(f"{prefix}{p}: {why}; remove it or pass skip_unreadable=True") from None
            log.warning("skipping unreadable image %s (%s)", p, why)
            continue
        images.append(to_grey(image) if grey else image)
        kept.append(i)
    return images, kept


def list_images(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder``, sorted; hidden files (e.g. macOS ``._x.jpg``) left out."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def image_folder_splits(root: str | os.PathLike) -> dict[str, Path]:
    """Canonical split name -> folder when every subfolder of ``root`` is a split folder
    (train/val/valid/validation/test), else {} (a plain ``<root>/<class>`` layout)."""
    subdirs = _subdirs(Path(root))
    if not subdirs or any(_norm(d.name) not in SPLIT_ALIASES for d in subdirs):
        return {}
    splits: dict[str, Path] = {}
    for d in subdirs:
        canon = SPLIT_ALIASES[_norm(d.name)]
        if canon in splits:
            raise GrinlabError(
                f"{root}: both {splits[canon].name!r} and {d.name!r} look like the {canon} split"
            )
        splits[canon] = d
    return splits


def _resolve_class(folder: Path, task: str, classes: tuple[str, ...]) -> str | None:
    """The task label a class folder stands for; None if the task deliberately leaves it out."""
    name = _norm(folder.name)
    if task == "custom":
        matches = [c for c in classes if _norm(c) == name]
    else:
        aliases = CLASS_ALIASES.get(task, {})
        matches = [c for c in classes if name == _norm(c) or name in aliases.get(c, ())]
    if matches:
        return matches[0]
    if name in _IGNORED_FOLDERS.get(task, ()):
        return None
    raise GrinlabError(
        f"class folder {folder} is not a label of task {task!r}; expected one of {', '.join(classes)}"
        + (" (or a documented alias)" if task != "custom" else "")
    )


def load_image_folder(
    root: str | os.PathLike,
    task: str | None = None,
    classes: Sequence[str] | None = None,
    split: str | None = None,
    skip_unreadable: bool = False,
    grey: bool = False,
) -> FaceDataset:
    """Load ``<root>/<class>/**/<image>`` (or ``<root>/<split>/<class>/...``) as a FaceDataset.

    task: a grinlab task whose labels the folder names map onto (with aliases); None = task "custom"
        with ``classes`` (in that order) or, without them, the sorted folder names.
    split: with split folders, load only this one (train, val/valid/validation or test); None loads
        every split together.
    skip_unreadable: count unreadable images in ``skipped["unreadable"]`` instead of failing.
    grey: decode every image as grey; otherwise grey files stay grey and colour ones are BGR.
    """
    root = Path(root)
    if not root.is_dir():
        raise GrinlabError(
            f"image folder {root} not found; expected <root>/<class>/*.jpg or <root>/<split>/<class>/*.jpg"
        )
    if task is not None and classes is not None:
        raise GrinlabError(
            "give either task (its labels name the classes) or classes (a custom task), not both"
        )
    splits = image_folder_splits(root)
    if split is not None:
        canon = SPLIT_ALIASES.get(_norm(split))
        if canon is None:
            raise GrinlabError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_ALIASES)}")
        if canon not in splits:
            found = ", ".join(d.name for d in splits.values()) or "none"
            raise GrinlabError(f"{root} has no {canon} split folder (split folders found: {found})")
        split_dirs = [splits[canon]]
    else:
        canon = "all"
        split_dirs = list(splits.values()) or [root]

    class_dirs = []
    for d in split_dirs:
        found = _subdirs(d)
        if not found:
            raise GrinlabError(f"no class folders in {d}; expected {d}/<class>/*.jpg")
        class_dirs.extend(found)

    if task is None:
        task = "custom"
        if classes is None:
            classes = tuple(sorted({d.name for d in class_dirs}))
        classes = tuple(classes)
        if len(set(map(_norm, classes))) != len(classes):
            raise GrinlabError(f"class names must differ (ignoring case), got {classes}")
    else:
        classes = task_labels(task)

    paths: list[Path] = []
    labels: list[int] = []
    skipped: Counter[str] = Counter()
    for d in class_dirs:
        label = _resolve_class(d, task, classes)
        files = list_images(d)
        if label is None:
            skipped["not_in_task"] += len(files)
            continue
        if not files:
            raise GrinlabError(
                f"class folder {d} has no images (looked for {', '.join(IMAGE_SUFFIXES)}); "
                "add some or remove it"
            )
        paths.extend(files)
        labels.extend([classes.index(label)] * len(files))

    images, kept = read_images(paths, grey=grey, skip_unreadable=skip_unreadable, desc=f"reading {root.name}")
    if len(kept) < len(paths):
        skipped["unreadable"] += len(paths) - len(kept)
    return FaceDataset(
        name=root.name,
        task=task,
        classes=classes,
        images=images,
        labels=np.asarray(labels, np.int64)[kept] if kept else np.zeros(0, np.int64),
        sources=[str(paths[i]) for i in kept],
        skipped=dict(skipped),
        split=canon,
    )
