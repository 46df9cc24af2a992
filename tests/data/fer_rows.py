"""Rows for small FER2013-format csv files in tests (a module, so parametrize can use it)."""

from __future__ import annotations

import numpy as np


def fer_row(emotion: int = 3, usage: str = "Training", pixels: str | None = None, seed: int = 0) -> str:
    if pixels is None:
        pixels = " ".join(map(str, np.random.default_rng(seed).integers(0, 256, 2304)))
    return f"{emotion},{pixels},{usage}"
