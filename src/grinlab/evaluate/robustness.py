"""Occlusion robustness on aligned face crops, and flip test-time augmentation (defined in
``grinlab.classify.tta``; ``flip_tta`` is re-exported here for the report and calibration).

Regions are fractions (rows, columns) of the crop. grinlab's crops (``grinlab.align.crop_face``)
put the eyes at about 40% and the mouth at about 72% of the height, so:

- ``eyes``:   rows 25-50%, all columns (the eye band, brows included);
- ``mouth``:  rows 62-88%, columns 20-80%;
- ``centre``: rows 35-65%, columns 35-65% (nose and the inner cheeks);
- ``scar``:   one straight band 12% of the crop wide between two random points on opposite
  edges, seeded per sample (``seed`` + index) so every run masks the same pixels.

Masked pixels take the crop's mean grey level (per channel mean for colour crops), so
per-image normalisation sees no artificial black edge.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..classify.tta import flip_tta as flip_tta  # re-exported: report and calibrate import it here

REGIONS = {
    "eyes": ((0.25, 0.50), (0.0, 1.0)),
    "mouth": ((0.62, 0.88), (0.20, 0.80)),
    "centre": ((0.35, 0.65), (0.35, 0.65)),
}
OCCLUSIONS = (*REGIONS, "scar")
SCAR_WIDTH = 0.12


def _means(batch: np.ndarray) -> np.ndarray:
    """Per-crop fill value: (N,) for grey batches, (N, C) for colour ones."""
    return batch.mean(axis=(1, 2)).round().astype(np.uint8)


def mask_region(batch: np.ndarray, region: str) -> np.ndarray:
    """A copy of uint8 crops (N, H, W[, C]) with a ``REGIONS`` rectangle filled by each crop's mean."""
    (r0, r1), (c0, c1) = REGIONS[region]
    out = batch.copy()
    h, w = batch.shape[1:3]
    ys, ye, xs, xe = int(r0 * h), int(round(r1 * h)), int(c0 * w), int(round(c1 * w))
    for i, m in enumerate(_means(batch)):
        out[i, ys:ye, xs:xe] = m
    return out


def mask_scar(batch: np.ndarray, seed: int = 0) -> np.ndarray:
    """A copy of uint8 crops with one random straight band (see the module doc) per crop."""
    out = batch.copy()
    h, w = batch.shape[1:3]
    thickness = max(1, round(SCAR_WIDTH * min(h, w)))
    for i, m in enumerate(_means(batch)):
        rng = np.random.default_rng(seed + i)
        if rng.random() < 0.5:  # left edge -> right edge
            p0, p1 = (0, int(rng.integers(h))), (w - 1, int(rng.integers(h)))
        else:  # top edge -> bottom edge
            p0, p1 = (int(rng.integers(w)), 0), (int(rng.integers(w)), h - 1)
        mask = np.zeros((h, w), np.uint8)
        cv2.line(mask, p0, p1, 1, thickness)
        out[i][mask.astype(bool)] = m
    return out


def occlude(batch: np.ndarray, kind: str) -> np.ndarray:
    if kind == "scar":
        return mask_scar(batch)
    return mask_region(batch, kind)


def occlusion_accuracy(
    predict: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, y_true: np.ndarray, decision=None
) -> dict[str, float]:
    """Accuracy with each of ``OCCLUSIONS`` masked, one pass over the batch per occlusion; labels
    decided by ``decision`` (grinlab.classify.decision.decide; None = argmax)."""
    from ..classify.decision import decide

    y_true = np.asarray(y_true)
    return {
        kind: float((decide(predict(occlude(batch, kind)), decision) == y_true).mean()) for kind in OCCLUSIONS
    }
