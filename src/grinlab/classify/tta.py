"""Flip test-time augmentation: the one definition of a crop's mirror image and of how a crop's
and its mirror's probabilities combine (their mean). numpy only.

Two ways to run it, which differ only in what goes through the network (on the shipped models
they give the same probabilities to the last bit):

- ``predict_proba_flip_tta`` (the Analyzer, ``--flip-tta``): each face and its mirror image in one
  batch, one network run on twice the faces;
- ``flip_tta`` (``grinlab evaluate``, ``grinlab calibrate``): a batch of crops whose plain
  probabilities are usually known already, so only the mirrors run.

Distillation (grinlab.train.distill) mirrors its teachers' inputs too, but on torch tensors on the
training device, and combines the views as a geometric mean: its own code, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def mirror(crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """The left-right mirror image of each crop: a batch (N, H, W[, C]) gives a batch, a sequence
    of (H, W[, C]) crops a list. Contiguous, as OpenCV and ONNX Runtime want their inputs."""
    if isinstance(crops, np.ndarray):
        return np.ascontiguousarray(crops[:, :, ::-1])
    return [np.ascontiguousarray(c[:, ::-1]) for c in crops]


def mean_of_views(plain: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """The flip-TTA probabilities: the mean of the crops' and their mirrors' probabilities."""
    return (plain + mirrored) / 2


def predict_proba_flip_tta(classifier, crops: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the probabilities of each crop and of its mirror image (any classifier with
    ``predict_proba``). One run of the network on twice the faces: twice the classify cost."""
    crops = list(crops)
    both = classifier.predict_proba(crops + mirror(crops))
    return mean_of_views(both[: len(crops)], both[len(crops) :])


def flip_tta(
    predict: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, probs: np.ndarray | None = None
) -> np.ndarray:
    """Mean of the probabilities of a batch of crops (N, H, W[, C]) and of their mirror images;
    ``probs``: the batch's own probabilities when already known (then only the mirrors run)."""
    plain = predict(batch) if probs is None else probs
    return mean_of_views(plain, predict(mirror(batch)))
