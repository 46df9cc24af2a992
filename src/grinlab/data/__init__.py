"""Dataset loaders (numpy + OpenCV only, no torch): FER2013(+FER+), image folders, SMILEsmileD,
GENKI-4K, FaceHack. Every loader returns a :class:`FaceDataset`."""

from .dataset import FaceDataset, concat_datasets, stratified_split
from .facehack import load_facehack
from .fer2013 import fer2013_splits, load_fer2013
from .folder import load_image_folder
from .genki4k import load_genki4k
from .registry import DATASET_FORMATS, detect_format, load_dataset, load_splits
from .smilesmiled import load_smilesmiled

__all__ = [
    "DATASET_FORMATS",
    "FaceDataset",
    "concat_datasets",
    "detect_format",
    "fer2013_splits",
    "load_dataset",
    "load_facehack",
    "load_fer2013",
    "load_genki4k",
    "load_image_folder",
    "load_smilesmiled",
    "load_splits",
    "stratified_split",
]
