"""The augmentation presets as numbers: which ops each preset applies, how often and how strongly.

One table read by both implementations: ``grinlab.train.augment`` (albumentations, per image, on
CPU loader workers) and ``grinlab.train.tensor_augment`` (batched torch ops on the training
device). Plain Python, no heavy imports, so either side can load it.
"""

from __future__ import annotations

from dataclasses import dataclass

PRESETS = ("none", "light", "standard", "scar", "strong")

FLIP_P = 0.5
AFFINE_P = 0.7
BRIGHTNESS_CONTRAST_P = 0.5
# Random erasing (CoarseDropout): this many holes, each side this fraction of the image side, fill 0.
ERASE_HOLES = (1, 2)
ERASE_SIDE = (0.1, 0.3)
# Scars: 1..SCAR_MAX thin lines or bars, thickness a fraction of the shorter side, dark or bright.
SCAR_MAX = 3
SCAR_THICKNESS = (0.02, 0.08)
SCAR_DARK = (0, 40)
SCAR_BRIGHT = (215, 255)
SCAR_BAR_LENGTH = (0.3, 0.9)
# "strong" picks one of blur or noise: Gaussian blur kernel 3..5 px (sigma is albumentations' default
# range), or Gaussian noise with this std as a fraction of 255.
BLUR_KSIZE = (3, 5)
BLUR_SIGMA = (0.5, 3.0)
NOISE_STD = (0.02, 0.08)


@dataclass(frozen=True)
class PresetRanges:
    """One preset: the affine/brightness ranges of its "light" core and the extra ops' probabilities
    (0 = the op is not part of the preset)."""

    shift: float = 0.06  # translate, fraction of the side, +-
    scale: float = 0.08  # zoom 1 +- scale, x and y drawn independently
    rotate: float = 10.0  # degrees, +-
    brightness_contrast: float = 0.2  # both limits, +-
    blur_noise_p: float = 0.0
    erase_p: float = 0.0
    scar_p: float = 0.0


PRESET_RANGES: dict[str, PresetRanges | None] = {
    "none": None,
    "light": PresetRanges(),
    "standard": PresetRanges(erase_p=0.5),
    "scar": PresetRanges(scar_p=0.5),
    "strong": PresetRanges(
        shift=0.1, scale=0.15, rotate=20, brightness_contrast=0.35, blur_noise_p=0.3, erase_p=0.5, scar_p=0.3
    ),
}
