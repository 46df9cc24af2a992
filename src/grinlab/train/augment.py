"""Seeded augmentation presets (albumentations) for uint8 face crops at model input size.

Every preset takes a uint8 (H, W) or (H, W, C) crop and returns one of the same shape and dtype.
``Augmenter(preset, seed)(image, key)`` is deterministic in (seed, key): the trainer passes
(epoch, sample index) as the key, so an epoch's augmentations do not depend on worker count,
batch order or on whether the run was resumed.
"""

from __future__ import annotations

import logging
import os
import random

# albumentations checks PyPI for a newer release when imported (a network call, and a warning
# offline); grinlab works offline, so the check is off unless the user turned it on.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2
import numpy as np

from ..errors import GrinlabError

log = logging.getLogger(__name__)

PRESETS = ("none", "light", "standard", "scar", "strong")


class Scar(A.ImageOnlyTransform):
    """Occlusion "scars": a few thin dark or bright rectangles/lines drawn across the face, as the
    FER2013 PyTorch project did, so the network cannot lean on one small region (mouth, eyes)."""

    def __init__(self, max_scars: int = 3, max_thickness: float = 0.08, p: float = 0.5):
        super().__init__(p=p)
        self.max_scars = max_scars
        self.max_thickness = max_thickness

    def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
        h, w = params["shape"][:2]
        rnd = self.py_random
        scars = []
        for _ in range(rnd.randint(1, self.max_scars)):
            value = rnd.randint(0, 40) if rnd.random() < 0.5 else rnd.randint(215, 255)
            thickness = max(1, int(round(rnd.uniform(0.02, self.max_thickness) * min(h, w))))
            if rnd.random() < 0.5:  # a line at any angle
                p1 = (rnd.randint(0, w - 1), rnd.randint(0, h - 1))
                p2 = (rnd.randint(0, w - 1), rnd.randint(0, h - 1))
                scars.append(("line", p1, p2, thickness, value))
            else:  # a thin axis-aligned bar, horizontal or vertical
                length = rnd.uniform(0.3, 0.9)
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


def _light(shift: float = 0.06, scale: float = 0.08, rotate: float = 10, bc: float = 0.2) -> list:
    return [
        A.HorizontalFlip(p=0.5),
        A.Affine(
            translate_percent=(-shift, shift),
            scale=(1 - scale, 1 + scale),
            rotate=(-rotate, rotate),
            border_mode=cv2.BORDER_REFLECT_101,
            p=0.7,
        ),
        A.RandomBrightnessContrast(brightness_limit=bc, contrast_limit=bc, p=0.5),
    ]


def _erasing(p: float = 0.5) -> A.BasicTransform:
    return A.CoarseDropout(
        num_holes_range=(1, 2), hole_height_range=(0.1, 0.3), hole_width_range=(0.1, 0.3), p=p
    )


def build_transforms(preset: str) -> list:
    """The albumentations transform list of ``preset`` (empty for ``none``)."""
    if preset == "none":
        return []
    if preset == "light":
        return _light()
    if preset == "standard":
        return [*_light(), _erasing()]
    if preset == "scar":
        return [*_light(), Scar(p=0.5)]
    if preset == "strong":
        return [
            *_light(shift=0.1, scale=0.15, rotate=20, bc=0.35),
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.GaussNoise(std_range=(0.02, 0.08))], p=0.3),
            _erasing(p=0.5),
            Scar(p=0.3),
        ]
    raise GrinlabError(f"unknown augmentation preset {preset!r}; choose one of {', '.join(PRESETS)}")


class Augmenter:
    """A preset bound to a seed. ``augmenter(image, key)`` gives the same output for the same
    (seed, key), whatever was augmented before."""

    def __init__(self, preset: str = "light", seed: int = 0):
        self.preset = preset
        self.seed = int(seed)
        self._compose = A.Compose(build_transforms(preset), seed=self.seed)

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
        self._compose.set_random_state(np.random.default_rng(derived), random.Random(derived))
        out = self._compose(image=image)["image"]
        if out.shape != image.shape:  # albumentations may add a channel axis to (H, W) input
            out = out.reshape(image.shape)
        return np.ascontiguousarray(out, dtype=np.uint8)
