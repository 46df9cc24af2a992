"""One door to every dataset format: ``load_dataset`` and ``load_splits`` with format auto-detection.

Auto-detection, first match wins:
  a .csv/.csv.gz/.csv.xz file with header ``emotion,pixels,Usage`` (or a folder holding one) -> fer2013
  a folder with ``SMILEs/``                                                          -> smilesmiled
  a folder with ``labels.txt`` and ``files/``                                          -> genki4k
  a folder with ``train.csv`` and ``images/``                                          -> facehack
  any other folder                                                                   -> image_folder
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import GrinlabError
from .dataset import FaceDataset
from .facehack import facehack_splits, load_facehack
from .fer2013 import HEADER as FER2013_HEADER
from .fer2013 import fer2013_splits, load_fer2013, read_first_line
from .folder import image_folder_splits, load_image_folder
from .genki4k import load_genki4k
from .smilesmiled import load_smilesmiled

DATASET_FORMATS: dict[str, Callable[..., FaceDataset]] = {
    "fer2013": load_fer2013,
    "image_folder": load_image_folder,
    "smilesmiled": load_smilesmiled,
    "genki4k": load_genki4k,
    "facehack": load_facehack,
}
# The task each format loads when none is given; formats absent here take task=None as their own default.
DEFAULT_TASKS = {"fer2013": "emotion7", "facehack": "valence"}
# Formats whose only task is "smile" (their loaders take no task argument).
SMILE_ONLY = ("smilesmiled", "genki4k")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.xz", ".csv.bz2")
FER2013_NAMES = tuple(f"fer2013{s}" for s in CSV_SUFFIXES)


def _fer2013_in(folder: Path) -> Path | None:
    return next((folder / n for n in FER2013_NAMES if (folder / n).is_file()), None)


def detect_format(path: str | os.PathLike) -> str:
    """The DATASET_FORMATS name that ``path`` looks like (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise GrinlabError(
            f"dataset {path} not found; expected a FER2013 .csv/.csv.gz/.csv.xz file or a dataset folder "
            "(image folder <root>/<class>/*.jpg, SMILEsmileD, GENKI-4K or FaceHack)"
        )
    if path.is_file():
        if path.name.lower().endswith(CSV_SUFFIXES):
            header = read_first_line(path)
            if header == FER2013_HEADER:
                return "fer2013"
            raise GrinlabError(
                f"{path}: header is {header[:80]!r}; a FER2013 csv starts with {FER2013_HEADER!r}"
            )
        raise GrinlabError(
            f"{path} is a file but not a FER2013 csv; pass a .csv(.gz/.xz) or a dataset folder"
        )
    if _fer2013_in(path):
        return "fer2013"
    if (path / "SMILEs").is_dir():
        return "smilesmiled"
    if (path / "labels.txt").is_file() and (path / "files").is_dir():
        return "genki4k"
    if (path / "train.csv").is_file() and (path / "images").is_dir():
        return "facehack"
    return "image_folder"


def _check_options(fmt: str, opts: dict) -> None:
    accepted = set(inspect.signature(DATASET_FORMATS[fmt]).parameters) - {"path", "root", "task"}
    unknown = sorted(set(opts) - accepted)
    if unknown:
        raise GrinlabError(
            f"the {fmt} loader does not take option(s) {', '.join(unknown)}; it takes: {', '.join(sorted(accepted))}"
        )


def _resolve(path: str | os.PathLike, fmt: str, task: str | None, opts: dict) -> tuple[Path, str, dict]:
    """(source path, format, keyword arguments for the loader, task included where it applies)."""
    path = Path(path)
    if fmt == "auto":
        fmt = detect_format(path)
    elif fmt not in DATASET_FORMATS:
        raise GrinlabError(
            f"unknown dataset format {fmt!r}; known formats: auto, {', '.join(DATASET_FORMATS)}"
        )
    elif not path.exists():
        raise GrinlabError(f"dataset {path} not found; expected a {fmt} dataset there")
    if fmt == "fer2013" and path.is_dir():
        csv = _fer2013_in(path)
        if csv is None:
            raise GrinlabError(f"no fer2013.csv (.gz/.xz) in {path}")
        path = csv
    _check_options(fmt, opts)
    kwargs = dict(opts)
    if fmt in SMILE_ONLY:
        if task not in (None, "smile"):
            raise GrinlabError(f"{fmt} has smile / no_smile labels only; use task 'smile', not {task!r}")
    else:
        task = task or DEFAULT_TASKS.get(fmt)
        if task is not None:
            kwargs["task"] = task
    return path, fmt, kwargs


def load_dataset(path: str | os.PathLike, fmt: str = "auto", task: str | None = None, **opts) -> FaceDataset:
    """Load any supported dataset; ``opts`` go to the format's loader (e.g. ``usage``, ``ferplus``,
    ``detector``, ``skip_unreadable``)."""
    path, fmt, kwargs = _resolve(path, fmt, task, opts)
    return DATASET_FORMATS[fmt](path, **kwargs)


def load_splits(
    path: str | os.PathLike,
    fmt: str = "auto",
    task: str | None = None,
    val_fraction: float = 0.15,
    seed: int = 0,
    **opts,
) -> dict[str, FaceDataset]:
    """Datasets "train", "val" and, when the dataset defines one, "test".

    FER2013 uses its Usage column; an image folder with split folders uses them (carving a seeded
    stratified val split out of train when there is no val folder); FaceHack is split stratified by
    its three valence classes whatever the task (so cascade stages share one val set); anything
    else is one seeded stratified train/val split of the whole dataset.
    """
    path, fmt, kwargs = _resolve(path, fmt, task, opts)
    if fmt == "fer2013":
        return fer2013_splits(path, **kwargs)
    if fmt == "facehack":
        return facehack_splits(path, val_fraction=val_fraction, seed=seed, **kwargs)
    if fmt == "image_folder":
        if "split" in kwargs:
            raise GrinlabError("load_splits loads every split; use load_dataset(..., split=...) for one")
        split_dirs = image_folder_splits(path)
        if split_dirs:
            if "train" not in split_dirs:
                raise GrinlabError(f"{path} has split folders ({', '.join(split_dirs)}) but no train folder")
            if kwargs.get("task") is None and kwargs.get("classes") is None:
                # every split must share one class list, even if a split lacks a class folder
                names = {d.name for s in split_dirs.values() for d in s.iterdir() if d.is_dir()}
                kwargs["classes"] = sorted(n for n in names if not n.startswith("."))
            splits = {s: load_image_folder(path, split=s, **kwargs) for s in split_dirs}
            if "val" not in splits:
                splits["train"], splits["val"] = splits["train"].split_by(val_fraction, seed)
            return {s: splits[s] for s in ("train", "val", "test") if s in splits}
    train, val = DATASET_FORMATS[fmt](path, **kwargs).split_by(val_fraction, seed)
    return {"train": train, "val": val}
