"""Face-crop preprocessing shared by training and inference.

Both sides build it from the same ``Preprocessing`` spec (stored in the model card), so a model
sees exactly the same pixels at inference as it did in training.

Images are numpy uint8 arrays as OpenCV decodes them: (H, W) grey or (H, W, 3) BGR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from .colour import to_bgr, to_grey
from .errors import GrinlabError

NORMALIZATIONS = ("per_image", "mean_std", "unit")
MAX_INPUT_SIDE = 1024  # a model input side beyond this is a damaged card, not a face model


@dataclass(frozen=True)
class Preprocessing:
    """How a face crop becomes a model input.

    size: (height, width) of the model input in pixels.
    channels: 1 (grey) or 3 (BGR, OpenCV order).
    normalization: ``per_image`` (zero mean, unit std per image), ``mean_std`` (dataset mean/std
        on [0, 1] pixels) or ``unit`` (pixels / 255).
    """

    size: tuple[int, int] = (48, 48)
    channels: int = 1
    normalization: str = "per_image"
    mean: tuple[float, ...] = field(default=(0.5,))
    std: tuple[float, ...] = field(default=(0.25,))

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise GrinlabError(f"channels must be 1 or 3, got {self.channels}")
        if self.normalization not in NORMALIZATIONS:
            raise GrinlabError(f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        if (
            len(self.size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.size)
            or not 8 <= min(self.size) <= max(self.size) <= MAX_INPUT_SIDE
        ):
            raise GrinlabError(f"size must be (height, width) of 8 to {MAX_INPUT_SIDE} px, got {self.size}")
        object.__setattr__(self, "size", tuple(int(s) for s in self.size))
        for name in ("mean", "std"):
            values = getattr(self, name)
            if (
                len(values) not in (1, self.channels)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
                or not all(math.isfinite(v) for v in values)
            ):
                raise GrinlabError(f"{name} must be 1 or {self.channels} finite numbers, got {values}")
            object.__setattr__(self, name, tuple(float(v) for v in values))
        if min(self.std) <= 0:
            raise GrinlabError(f"std must be positive, got {self.std}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def describe(self) -> str:
        """'48x48 grey per_image': the input in words, for messages about mismatched models."""
        h, w = self.size
        return f"{h}x{w} {'grey' if self.channels == 1 else 'BGR'} {self.normalization}"

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        if not isinstance(d, dict):
            raise GrinlabError(f"preprocessing must be a mapping, got {type(d).__name__}")
        try:
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
        except TypeError as exc:  # unknown keys, or values of the wrong kind
            raise GrinlabError(f"preprocessing: {exc}") from None


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Return ``image`` as grey (H, W) for 1 channel or BGR (H, W, 3) for 3 (grinlab.colour);
    accepts grey, BGR and BGRA."""
    return to_grey(image) if channels == 1 else to_bgr(image)


def fit_crop(image: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """Resize and colour-convert one face crop to the model's input size, still uint8."""
    image = convert_channels(image, spec.channels)
    h, w = spec.size
    if image.shape[:2] != (h, w):
        shrinking = image.shape[0] > h or image.shape[1] > w
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return image


def normalize(batch: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) -> float32 (N, C, H, W) normalised as the spec says."""
    x = batch.astype(np.float32) / 255.0
    if x.ndim == 3:
        x = x[:, None]
    else:
        x = x.transpose(0, 3, 1, 2)
    if spec.normalization == "per_image":
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        std = x.std(axis=(1, 2, 3), keepdims=True)
        x = (x - mean) / np.maximum(std, 1e-3)
    elif spec.normalization == "mean_std":
        mean = np.asarray(spec.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(spec.std, np.float32).reshape(1, -1, 1, 1)
        x = (x - mean) / std
    return np.ascontiguousarray(x, dtype=np.float32)


def to_model_input(crops: Sequence[np.ndarray], spec: Preprocessing) -> np.ndarray:
    """Face crops of any size -> one float32 (N, C, H, W) batch ready for the network."""
    if len(crops) == 0:
        return np.zeros((0, spec.channels, *spec.size), np.float32)
    return normalize(np.stack([fit_crop(c, spec) for c in crops]), spec)
