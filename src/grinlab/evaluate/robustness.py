"""Test-time flip augmentation and occlusion robustness on aligned face crops.

Regions are fractions of the crop (grinlab's crops put the eyes at ~40% and the mouth at ~72% of
the height with the default margin): the eye band covers rows 25-50%, the mouth region rows
62-88% and columns 20-80%. Masked pixels take the crop's mean grey level, so the per-image
normalisation sees no artificial edge of black.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

REGIONS = {
    "eyes": ((0.25, 0.50), (0.0, 1.0)),
    "mouth": ((0.62, 0.88), (0.20, 0.80)),
}


def mask_region(batch: np.ndarray, region: str) -> np.ndarray:
    """A copy of uint8 crops (N, H, W[, C]) with ``region`` filled by each crop's mean."""
    (r0, r1), (c0, c1) = REGIONS[region]
    out = batch.copy()
    h, w = batch.shape[1:3]
    ys, ye, xs, xe = int(r0 * h), int(round(r1 * h)), int(c0 * w), int(round(c1 * w))
    means = batch.reshape(len(batch), -1).mean(axis=1).round().astype(np.uint8)
    for i, m in enumerate(means):
        out[i, ys:ye, xs:xe] = m
    return out


def flip_tta(
    predict: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, probs: np.ndarray | None = None
) -> np.ndarray:
    """Mean of the probabilities of the crops and their horizontal mirrors."""
    plain = predict(batch) if probs is None else probs
    return (plain + predict(np.ascontiguousarray(batch[:, :, ::-1]))) / 2.0


def occlusion_accuracy(predict, batch: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    return {
        region: float((predict(mask_region(batch, region)).argmax(1) == y_true).mean()) for region in REGIONS
    }
