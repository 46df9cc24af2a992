"""SMILEsmileD: 64x64 grey face crops, ``SMILEs/positives/positives7`` (smile) and
``SMILEs/negatives/negatives7`` (no smile). The label is the folder; the .idx files are ignored
(they list files that were never in the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import GrinlabError
from ..labels import SMILE
from .dataset import FaceDataset
from .folder import list_images, read_images

# class -> folder under SMILEs/
FOLDERS = {"no_smile": Path("negatives", "negatives7"), "smile": Path("positives", "positives7")}


def _smiles_dir(root: Path) -> Path:
    """``root/SMILEs``, or ``root`` itself when it already is the SMILEs folder."""
    for candidate in (root / "SMILEs", root):
        if all((candidate / sub).is_dir() for sub in FOLDERS.values()):
            return candidate
    raise GrinlabError(
        f"{root} is not a SMILEsmileD folder; expected {root}/SMILEs/positives/positives7/*.jpg "
        "and SMILEs/negatives/negatives7/*.jpg"
    )


def load_smilesmiled(root: str | os.PathLike, skip_unreadable: bool = False) -> FaceDataset:
    """Load SMILEsmileD as task "smile", images read as grey (H, W) uint8."""
    root = Path(root)
    smiles = _smiles_dir(root)
    paths, labels = [], []
    for label, sub in FOLDERS.items():
        files = list_images(smiles / sub)
        if not files:
            raise GrinlabError(f"{smiles / sub} has no images; expected the SMILEsmileD .jpg faces there")
        paths.extend(files)
        labels.extend([SMILE.index(label)] * len(files))
    images, kept = read_images(paths, grey=True, skip_unreadable=skip_unreadable, desc="reading SMILEsmileD")
    skipped = {"unreadable": len(paths) - len(kept)} if len(kept) < len(paths) else {}
    return FaceDataset(
        name="smilesmiled",
        task="smile",
        classes=SMILE,
        images=images,
        labels=np.asarray(labels, np.int64)[kept],
        sources=[str(paths[i]) for i in kept],
        skipped=skipped,
    )
