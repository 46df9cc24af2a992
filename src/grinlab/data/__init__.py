"""Dataset loaders (numpy + OpenCV only, no torch): FER2013(+FER+), image folders, SMILEsmileD,
GENKI-4K, FaceHack. Every loader returns a :class:`FaceDataset`."""

from .dataset import FaceDataset, stratified_split

__all__ = ["FaceDataset", "stratified_split"]
