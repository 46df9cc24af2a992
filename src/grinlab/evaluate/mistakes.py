"""Misclassified faces on disk, as the SmileRecognition project did with its "wh"/"wn" folders:
``mistakes/<true>__as__<pred>/<rank>_p=<prob>_<source>.png`` (most confident first) and a grid
of labelled tiles. ``images`` are the samples as stored (any size), not the network inputs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..preprocess import convert_channels


def _stem(source: str) -> str:
    """A short file-name-safe tag for a sample: "img_0042" for a path, "fer2013_row_17" for a
    "file.csv:row 17" source (a colon followed by a path, as in "C:/x.jpg", stays a path)."""
    m = re.match(r"^(.+):([^/\\]+)$", source)
    tag = f"{Path(m.group(1)).stem}_{m.group(2)}" if m else Path(source).stem
    return re.sub(r"[^A-Za-z0-9.-]+", "_", tag).strip("_")[:60] or "sample"


def export_mistakes(
    images: Sequence[np.ndarray],
    y_true,
    probs,
    classes,
    sources,
    out_dir: Path,
    per_pair: int = 50,
    y_pred=None,
) -> dict[str, int]:
    """Write misclassified crops by (true, predicted) pair, at most ``per_pair`` each, most
    confident first; returns {"true__as__pred": number of such mistakes} (all, not only written).
    ``y_pred``: the decided labels (default argmax); confidence is P(decided label)."""
    y_true = np.asarray(y_true)
    y_pred, conf = _decided(probs, y_pred)
    counts = {}
    for t in range(len(classes)):
        for p in range(len(classes)):
            if t == p:
                continue
            idx = np.flatnonzero((y_true == t) & (y_pred == p))
            if not len(idx):
                continue
            key = f"{classes[t]}__as__{classes[p]}"
            counts[key] = int(len(idx))
            folder = out_dir / key
            folder.mkdir(parents=True, exist_ok=True)
            for rank, i in enumerate(idx[np.argsort(-conf[idx])][:per_pair]):
                cv2.imwrite(str(folder / f"{rank:03d}_p={conf[i]:.2f}_{_stem(sources[i])}.png"), images[i])
    return counts


def _decided(probs, y_pred) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs)
    y_pred = probs.argmax(axis=1) if y_pred is None else np.asarray(y_pred, int)
    return y_pred, probs[np.arange(len(probs)), y_pred]


def mistakes_grid(
    images: Sequence[np.ndarray],
    y_true,
    probs,
    classes,
    path: Path,
    n: int = 48,
    tile: int = 96,
    y_pred=None,
) -> Path | None:
    """The ``n`` most confident mistakes as labelled tiles (8 per row), most confident first; each
    tile says "true <class>" and "as <class> <p>" under the face. None when there is no mistake.
    ``y_pred``: the decided labels (default argmax)."""
    y_true = np.asarray(y_true)
    y_pred, conf = _decided(probs, y_pred)
    wrong = np.flatnonzero(y_pred != y_true)
    if not len(wrong):
        return None
    wrong = wrong[np.argsort(-conf[wrong])][:n]
    cols = min(8, len(wrong))
    rows = (len(wrong) + cols - 1) // cols
    cell_w, cell_h = tile + 4, tile + 30
    grid = np.full((rows * cell_h, cols * cell_w, 3), 255, np.uint8)
    for k, i in enumerate(wrong):
        img = convert_channels(images[i], 3)
        r, c = divmod(k, cols)
        y0, x0 = r * cell_h, c * cell_w + 2
        grid[y0 : y0 + tile, x0 : x0 + tile] = cv2.resize(img, (tile, tile))
        lines = (f"true {classes[y_true[i]]}", f"as {classes[y_pred[i]]} {conf[i]:.2f}")
        for j, text in enumerate(lines):
            _put_fitting(grid, text, (x0, y0 + tile + 12 + 13 * j), tile)
    cv2.imwrite(str(path), grid)
    return path


def _put_fitting(img: np.ndarray, text: str, origin: tuple[int, int], width: int) -> None:
    """Draw ``text`` cut at the end so that it fits in ``width`` pixels."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.33
    while len(text) > 1 and cv2.getTextSize(text, font, scale, 1)[0][0] > width:
        text = text[:-1]
    cv2.putText(img, text, origin, font, scale, (0, 0, 160), 1, cv2.LINE_AA)
