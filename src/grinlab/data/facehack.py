"""FaceHack smile valence: ``train.csv`` (no header, ``image_id,label``) and ``images/<image_id>.jpg``.

Labels are "NOT smile", "negative smile" and "positive smile" (matched ignoring case and spacing).
Task "valence" keeps the three classes; task "smile" merges both smiles into "smile"; task
"smile_polarity" keeps only the smiling faces (positive vs negative smile), the second stage of a
valence cascade.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..errors import GrinlabError
from ..labels import task_labels
from .dataset import FaceDataset, stratified_split
from .folder import read_images

CSV_NAME = "train.csv"
IMAGE_DIR = "images"
# normalised csv label -> label per task
LABELS = {
    "not smile": {"valence": "no_smile", "smile": "no_smile", "smile_polarity": None},
    "negative smile": {"valence": "negative_smile", "smile": "smile", "smile_polarity": "negative_smile"},
    "positive smile": {"valence": "positive_smile", "smile": "smile", "smile_polarity": "positive_smile"},
}
TASKS = ("valence", "smile", "smile_polarity")


def _read_rows(csv_path: Path) -> list[tuple[int, str, str]]:
    """(1-based row, image id, normalised label) for every non-empty line."""
    rows = []
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        for n, fields in enumerate(csv.reader(f), start=1):
            if not fields or not any(s.strip() for s in fields):
                continue
            if len(fields) != 2:
                raise GrinlabError(
                    f"{csv_path} row {n}: has {len(fields)} fields, expected 2 (image_id,label)"
                )
            image_id, label = fields[0].strip(), " ".join(fields[1].lower().split())
            if label not in LABELS:
                raise GrinlabError(
                    f"{csv_path} row {n}: unknown label {fields[1]!r}; expected NOT smile, negative smile or positive smile"
                )
            rows.append((n, image_id, label))
    return rows


def _load_valence(root: Path) -> FaceDataset:
    """Every row of train.csv with its three-class valence label."""
    csv_path = root / CSV_NAME
    if not csv_path.is_file() or not (root / IMAGE_DIR).is_dir():
        raise GrinlabError(
            f"{root} is not a FaceHack folder; expected {root}/{CSV_NAME} and {root}/{IMAGE_DIR}/<id>.jpg"
        )
    rows = _read_rows(csv_path)
    if not rows:
        raise GrinlabError(f"{csv_path} has no rows; expected lines 'image_id,label'")
    paths = []
    for n, image_id, _ in rows:
        path = root / IMAGE_DIR / (image_id if Path(image_id).suffix else f"{image_id}.jpg")
        if not path.is_file():
            raise GrinlabError(f"{csv_path} row {n}: image {path} not found")
        paths.append(path)
    images, _ = read_images(paths, desc="reading FaceHack", where=[f"{csv_path} row {n}" for n, _, _ in rows])
    classes = task_labels("valence")
    return FaceDataset(
        name="facehack",
        task="valence",
        classes=classes,
        images=images,
        labels=np.asarray([classes.index(LABELS[label]["valence"]) for *_, label in rows], np.int64),
        sources=[str(p) for p in paths],
    )


# valence class name -> its label per task (the LABELS row it came from)
_BY_VALENCE = {row["valence"]: row for row in LABELS.values()}


def _as_task(full: FaceDataset, task: str, indices=None, split: str = "all") -> FaceDataset:
    """The rows ``indices`` of the valence dataset relabelled for ``task`` (rows outside it dropped)."""
    classes = task_labels(task)
    to_task = [_BY_VALENCE[name][task] for name in full.classes]
    idx = np.arange(len(full)) if indices is None else np.asarray(indices)
    keep = [i for i in idx if to_task[full.labels[i]] is not None]
    sub = full.subset(keep, split)
    sub.task, sub.classes = task, classes
    sub.labels = np.asarray([classes.index(to_task[v]) for v in sub.labels], np.int64)
    if len(keep) < len(idx):
        sub.skipped = {"not_in_task": len(idx) - len(keep)}
    return sub


def load_facehack(root: str | os.PathLike, task: str = "valence") -> FaceDataset:
    """Load the FaceHack train split (BGR face crops) for task "valence", "smile" or "smile_polarity"."""
    if task not in TASKS:
        raise GrinlabError(f"FaceHack supports tasks {TASKS}, got {task!r}")
    return _as_task(_load_valence(Path(root)), task)


def facehack_splits(
    root: str | os.PathLike, task: str = "valence", val_fraction: float = 0.15, seed: int = 0
) -> dict[str, FaceDataset]:
    """Seeded train/val split stratified by the three valence classes, whatever the task, so the
    stages of a cascade (task smile, then smile_polarity) and a single valence model share one
    val set: no image trains one and validates another."""
    if task not in TASKS:
        raise GrinlabError(f"FaceHack supports tasks {TASKS}, got {task!r}")
    full = _load_valence(Path(root))
    train, val = stratified_split(full.labels, val_fraction, seed)
    return {"train": _as_task(full, task, train, "train"), "val": _as_task(full, task, val, "val")}
