"""Seeded augmentation presets (albumentations) for uint8 face crops at model input size.

Every preset takes a uint8 (H, W) or (H, W, C) crop and returns one of the same shape and dtype.
``Augmenter(preset, seed)(image, key)`` is deterministic in (seed, key): the trainer passes
(epoch, sample index) as the key, so an epoch's augmentations do not depend on worker count,
batch order or on whether the run was resumed.

albumentations is imported on first use, not with this module: GPU-resident training
(``--augment-on device``, grinlab.train.tensor_augment) runs where it is not installed.
"""

from __future__ import annotations

import functools
import logging
import os
import random

# albumentations checks PyPI for a newer release when imported (a network call, and a warning
# offline); grinlab works offline, so the check is off unless the user turned it on.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np

from ..errors import GrinlabError
from .augment_presets import (
    AFFINE_P,
    BLUR_KSIZE,
    BLUR_SIGMA,
    BRIGHTNESS_CONTRAST_P,
    ERASE_HOLES,
    ERASE_SIDE,
    FLIP_P,
    NOISE_STD,
    PRESET_RANGES,
    PRESETS,
    SCAR_BAR_LENGTH,
    SCAR_BRIGHT,
    SCAR_DARK,
    SCAR_MAX,
    SCAR_THICKNESS,
    PresetRanges,
)

log = logging.getLogger(__name__)

__all__ = ["PRESETS", "Augmenter", "build_transforms", "scar_transform_class"]


def _albumentations():
    try:
        import albumentations
    except ModuleNotFoundError as exc:
        if exc.name != "albumentations":
            raise
        raise GrinlabError(
            "augmenting on CPU loader workers needs albumentations (pip install 'grinlab[train]'); "
            "or augment on the training device with --augment-on device"
        ) from None
    return albumentations


@functools.cache
def scar_transform_class() -> type:
    """The ``Scar`` albumentations transform (a class made on first use, with albumentations)."""
    A = _albumentations()

    class Scar(A.ImageOnlyTransform):
        """Occlusion "scars": a few thin dark or bright rectangles/lines drawn across the face, as the
        FER2013 PyTorch project did, so the network cannot lean on one small region (mouth, eyes)."""

        def __init__(
            self, max_scars: int = SCAR_MAX, max_thickness: float = SCAR_THICKNESS[1], p: float = 0.5
        ):
            super().__init__(p=p)
            self.max_scars = max_scars
            self.max_thickness = max_thickness

        def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
            h, w = params["shape"][:2]
            rnd = self.py_random
            scars = []
            for _ in range(rnd.randint(1, self.max_scars)):
                value = rnd.randint(*SCAR_DARK) if rnd.random() < 0.5 else rnd.randint(*SCAR_BRIGHT)
                thickness = max(1, int(round(rnd.uniform(SCAR_THICKNESS[0], self.max_thickness) * min(h, w))))
                if rnd.random() < 0.5:  # a line at any angle
                    p1 = (rnd.randint(0, w - 1), rnd.randint(0, h - 1))
                    p2 = (rnd.randint(0, w - 1), rnd.randint(0, h - 1))
                    scars.append(("line", p1, p2, thickness, value))
                else:  # a thin axis-aligned bar, horizontal or vertical
                    length = rnd.uniform(*SCAR_BAR_LENGTH)
                    if rnd.random() < 0.5:
                        x0, y0 = rnd.randint(0, int(w * (1 - length))), rnd.randint(0, h - thickness)
                        p1, p2 = (x0, y0), (x0 + int(w * length), y0 + thickness - 1)
                    else:
                        x0, y0 = rnd.randint(0, w - thickness), rnd.randint(0, int(h * (1 - length)))
                        p1, p2 = (x0, y0), (x0 + thickness - 1, y0 + int(h * length))
                    scars.append(("rect", p1, p2, thickness, value))
            return {"scars": scars}

        def apply(self, img: np.ndarray, scars=(), **params) -> np.ndarray:
            out = img.copy()
            for kind, p1, p2, thickness, value in scars:
                colour = (value,) * (out.shape[2] if out.ndim == 3 else 1)
                if kind == "line":
                    cv2.line(out, p1, p2, colour, thickness, lineType=cv2.LINE_AA)
                else:
                    cv2.rectangle(out, p1, p2, colour, -1)
            return out

        def get_transform_init_args_names(self) -> tuple[str, ...]:
            return ("max_scars", "max_thickness")

    return Scar


def _light(A, r: PresetRanges) -> list:
    return [
        A.HorizontalFlip(p=FLIP_P),
        A.Affine(
            translate_percent=(-r.shift, r.shift),
            scale=(1 - r.scale, 1 + r.scale),
            rotate=(-r.rotate, r.rotate),
            border_mode=cv2.BORDER_REFLECT_101,
            p=AFFINE_P,
        ),
        A.RandomBrightnessContrast(
            brightness_limit=r.brightness_contrast,
            contrast_limit=r.brightness_contrast,
            p=BRIGHTNESS_CONTRAST_P,
        ),
    ]


def build_transforms(preset: str) -> list:
    """The albumentations transform list of ``preset`` (empty for ``none``), in the order
    ``augment_presets`` lists the ops: flip, affine, brightness/contrast, blur or noise, erasing, scars."""
    if preset not in PRESET_RANGES:
        raise GrinlabError(f"unknown augmentation preset {preset!r}; choose one of {', '.join(PRESETS)}")
    r = PRESET_RANGES[preset]
    if r is None:
        return []
    A = _albumentations()
    out = _light(A, r)
    if r.blur_noise_p:
        blur = A.GaussianBlur(blur_limit=BLUR_KSIZE, sigma_limit=BLUR_SIGMA)
        noise = A.GaussNoise(std_range=NOISE_STD)
        out.append(A.OneOf([blur, noise], p=r.blur_noise_p))
    if r.erase_p:
        out.append(
            A.CoarseDropout(
                num_holes_range=ERASE_HOLES,
                hole_height_range=ERASE_SIDE,
                hole_width_range=ERASE_SIDE,
                p=r.erase_p,
            )
        )
    if r.scar_p:
        out.append(scar_transform_class()(p=r.scar_p))
    return out


class Augmenter:
    """A preset bound to a seed. ``augmenter(image, key)`` gives the same output for the same
    (seed, key), whatever was augmented before."""

    def __init__(self, preset: str = "light", seed: int = 0):
        if preset not in PRESET_RANGES:
            raise GrinlabError(f"unknown augmentation preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self.preset = preset
        self.seed = int(seed)
        self._compose = None  # built on first use: the device path makes an Augmenter but never calls it

    def __call__(self, image: np.ndarray, key: tuple[int, ...] = ()) -> np.ndarray:
        if self.preset == "none":
            return image
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise GrinlabError(
                f"augmentation expects uint8 (H, W) or (H, W, C) images, got {image.dtype} {image.shape}"
            )
        # One derived seed per (seed, key): reseeding is cheap and makes every sample reproducible.
        # One generator pair shared by all transforms, drawn in turn: Compose.set_random_seed
        # would give each transform its own generator with the same seed, so every transform drew
        # the same first number and they all applied together or not at all (a quarter of the
        # "standard" crops came out unaugmented, the rest with every transform at once).
        derived = int(np.random.SeedSequence([self.seed, *(int(k) for k in key)]).generate_state(1)[0])
        if self._compose is None:
            self._compose = _albumentations().Compose(build_transforms(self.preset), seed=self.seed)
        self._compose.set_random_state(np.random.default_rng(derived), random.Random(derived))
        out = self._compose(image=image)["image"]
        if out.shape != image.shape:  # albumentations may add a channel axis to (H, W) input
            out = out.reshape(image.shape)
        return np.ascontiguousarray(out, dtype=np.uint8)
