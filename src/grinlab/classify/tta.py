"""Flip test-time augmentation at inference: each face and its mirror image in one batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def predict_proba_flip_tta(classifier, crops: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of the probabilities of each crop and of its mirror image (any classifier with
    ``predict_proba``). One run of the network on twice the faces: twice the classify cost."""
    crops = list(crops)
    both = classifier.predict_proba(crops + [np.ascontiguousarray(c[:, ::-1]) for c in crops])
    return (both[: len(crops)] + both[len(crops) :]) / 2
