"""The augmentation presets as batched torch tensor ops, on whatever device the crops live on.

``TensorAugmenter(preset, seed, spec)(images, index, epoch)`` takes uint8 (B, H, W) or (B, H, W, C)
crops and returns the normalised float32 (B, C, H, W) model input, without leaving the device: the
GPU-resident training path (``grinlab.train.device_data``) uses it instead of albumentations on CPU
loader workers, which starved a fast GPU.

Same ops, order, probabilities and ranges as ``grinlab.train.augment`` (both read
``augment_presets``): flip, affine (reflect-101 border), brightness/contrast, for "strong" blur or
noise, erasing, scars. The pixels are not the albumentations pixels (another random stream, and
bilinear sampling and line anti-aliasing are done differently); the distribution is the same.

Random parameters come from a counter-based hash of (seed, epoch, sample index, draw number)
computed with integer tensor ops, so sample i of epoch e gets the same augmentation whatever batch
it is in, in which order, and whether the run was resumed -- as the per-image path does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import GrinlabError
from ..preprocess import Preprocessing
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

M32 = 0xFFFFFFFF


def _mul32(h, k: int):
    """(h * k) mod 2**32 for h in [0, 2**32), without int64 overflow (products stay below 2**49)."""
    return (h * (k & 0xFFFF) + (((h * (k >> 16)) & 0xFFFF) << 16)) & M32


def _mix(h):
    """murmur3's 32-bit finaliser, on python ints or int64 tensors holding values in [0, 2**32)."""
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def _hash2(key, word):
    """A well-mixed 32-bit hash of two 32-bit words (the second mix keeps key ^ word collisions apart)."""
    return _mix((_mix(key ^ word) + key) & M32)


def sample_keys(seed: int, epoch: int, index: torch.Tensor) -> torch.Tensor:
    """One 32-bit key per sample, a function of (seed, epoch, index) only."""
    base = _mix(_mix((seed & M32) ^ 0x9E3779B9) ^ ((seed >> 32) & M32))
    base = _hash2(base, epoch & M32)
    return _hash2(index.to(torch.int64) & M32, base)


class _Draws:
    """Uniform/normal draws for a batch: draw number n of sample i hashes (key_i, n[, element]).
    Every op draws all its numbers whether it fires or not, so a draw's number is fixed by the code
    order alone."""

    def __init__(self, keys: torch.Tensor):
        self.keys = keys
        self.stream = 0

    def _bits(self, shape: tuple[int, ...] = ()) -> torch.Tensor:
        self.stream += 1
        word = torch.tensor(self.stream << 24, dtype=torch.int64, device=self.keys.device)
        keys = self.keys
        if shape:
            n = math.prod(shape)
            word = word + torch.arange(n, dtype=torch.int64, device=keys.device)
            return _hash2(keys[:, None], word[None]).view(-1, *shape)
        return _hash2(keys, word)

    def uniform(self, lo=0.0, hi=1.0, shape: tuple[int, ...] = ()) -> torch.Tensor:
        u = (self._bits(shape) >> 8).to(torch.float32) * 2.0**-24  # [0, 1), exact in float32
        return lo + (hi - lo) * u

    def randint(self, lo, hi) -> torch.Tensor:
        """Integers in [lo, hi] inclusive (bounds may be per-sample tensors), as float32."""
        u = self.uniform()
        return torch.minimum(torch.floor(lo + u * (hi - lo + 1)), torch.as_tensor(hi, dtype=u.dtype))

    def normal(self, shape: tuple[int, ...]) -> torch.Tensor:
        u1 = ((self._bits(shape) >> 8) + 1).to(torch.float32) * 2.0**-24  # (0, 1]: log is finite
        u2 = self.uniform(shape=shape)
        return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, *([1] * (a.ndim - 1))), a, b)


def _flip(x: torch.Tensor, d: _Draws) -> torch.Tensor:
    return _where(d.uniform() < FLIP_P, x.flip(-1), x)


def affine_warp(x, tx, ty, sx, sy, degrees) -> torch.Tensor:
    """Warp float (B, C, H, W) as albumentations' Affine does: output = R S input + t about the image
    centre (t in pixels, R = [[cos, sin], [-sin, cos]]), bilinear, border reflect-101."""
    _, _, h, w = x.shape
    angle = torch.deg2rad(degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Sampling needs the inverse, diag(1/sx, 1/sy) @ R^T: it maps output pixels to input pixels.
    i00, i01, i10, i11 = cos / sx, -sin / sx, sin / sy, cos / sy
    # align_corners=True: normalised -1..1 spans the corner pixel centres, so the centre is 0, one
    # pixel is 2/(side-1), and grid_sample's reflection mirrors about those centres = reflect-101.
    kx, ky = (w - 1) / 2, (h - 1) / 2
    theta = torch.stack(
        [
            torch.stack([i00, i01 * ky / kx, -(i00 * tx + i01 * ty) / kx], 1),
            torch.stack([i10 * kx / ky, i11, -(i10 * tx + i11 * ty) / ky], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)


def _affine(x: torch.Tensor, d: _Draws, r: PresetRanges) -> torch.Tensor:
    """x and y scale drawn independently, translation truncated to whole pixels (as albumentations)."""
    _, _, h, w = x.shape
    fire = d.uniform() < AFFINE_P
    tx = torch.trunc(d.uniform(-r.shift, r.shift) * w)
    ty = torch.trunc(d.uniform(-r.shift, r.shift) * h)
    sx = d.uniform(1 - r.scale, 1 + r.scale)
    sy = d.uniform(1 - r.scale, 1 + r.scale)
    degrees = d.uniform(-r.rotate, r.rotate)
    return _where(fire, affine_warp(x, tx, ty, sx, sy, degrees), x)


def _brightness_contrast(x: torch.Tensor, d: _Draws, r: PresetRanges) -> torch.Tensor:
    """albumentations' RandomBrightnessContrast (brightness by max): x * (1 + c) + b * 255."""
    fire = d.uniform() < BRIGHTNESS_CONTRAST_P
    alpha = 1.0 + d.uniform(-r.brightness_contrast, r.brightness_contrast)
    beta = d.uniform(-r.brightness_contrast, r.brightness_contrast) * 255.0
    out = (x * alpha.view(-1, 1, 1, 1) + beta.view(-1, 1, 1, 1)).clamp(0, 255)
    return _where(fire, out, x)


def _blur_or_noise(x: torch.Tensor, d: _Draws, p: float) -> torch.Tensor:
    """One of: Gaussian blur (kernel 3 or 5 -- albumentations rounds an even size up -- reflect-101
    border) or per-pixel Gaussian noise."""
    b, c, h, w = x.shape
    fire = d.uniform() < p
    blur = d.uniform() < 0.5
    size5 = d.randint(*BLUR_KSIZE) > 3
    sigma = d.uniform(*BLUR_SIGMA)
    std = d.uniform(*NOISE_STD) * 255.0
    taps = torch.arange(-2, 3, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (taps[None] / sigma[:, None]) ** 2)
    kernel = kernel * ((taps.abs() < 2)[None] | size5[:, None])
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, 5)
    flat = F.pad(x.reshape(1, b * c, h, w), (2, 2, 2, 2), mode="reflect")
    flat = F.conv2d(flat, kernel.view(b * c, 1, 1, 5), groups=b * c)
    blurred = F.conv2d(flat, kernel.view(b * c, 1, 5, 1), groups=b * c).view(b, c, h, w)
    noisy = (x + std.view(-1, 1, 1, 1) * d.normal((c, h, w))).clamp(0, 255)
    return _where(fire & blur, blurred, _where(fire & ~blur, noisy, x))


def _erase(x: torch.Tensor, d: _Draws, p: float) -> torch.Tensor:
    """albumentations' CoarseDropout: 1-2 holes, sides a fraction of the image's, filled with 0."""
    _, _, h, w = x.shape
    fire = d.uniform() < p
    holes = d.randint(*ERASE_HOLES)
    ys = torch.arange(h, device=x.device, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, w)
    mask = torch.zeros(x.shape[0], h, w, dtype=torch.bool, device=x.device)
    for k in range(ERASE_HOLES[1]):
        hh = torch.trunc(h * d.uniform(*ERASE_SIDE))
        hw = torch.trunc(w * d.uniform(*ERASE_SIDE))
        y0, x0 = d.randint(0, h - hh), d.randint(0, w - hw)
        on = (fire & (k < holes)).view(-1, 1, 1)
        inside = (ys >= y0.view(-1, 1, 1)) & (ys < (y0 + hh).view(-1, 1, 1))
        inside = inside & (xs >= x0.view(-1, 1, 1)) & (xs < (x0 + hw).view(-1, 1, 1))
        mask |= on & inside
    return x.masked_fill(mask[:, None], 0.0)


def _scars(x: torch.Tensor, d: _Draws, p: float) -> torch.Tensor:
    """augment.Scar: 1..SCAR_MAX dark or bright thin lines (anti-aliased, any angle) or axis bars."""
    b, _, h, w = x.shape
    fire = d.uniform() < p
    count = d.randint(1, SCAR_MAX)
    ys = torch.arange(h, device=x.device, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, w)

    def col(t: torch.Tensor) -> torch.Tensor:
        return t.view(-1, 1, 1)

    for k in range(SCAR_MAX):
        dark = d.uniform() < 0.5
        value = torch.where(dark, d.randint(*SCAR_DARK), d.randint(*SCAR_BRIGHT))
        thick = torch.clamp(torch.round(d.uniform(*SCAR_THICKNESS) * min(h, w)), min=1)
        line = d.uniform() < 0.5
        # a line between two random pixels: coverage from the distance to the segment
        x1, y1, x2, y2 = d.randint(0, w - 1), d.randint(0, h - 1), d.randint(0, w - 1), d.randint(0, h - 1)
        vx, vy = col(x2 - x1), col(y2 - y1)
        t = ((xs - col(x1)) * vx + (ys - col(y1)) * vy) / (vx * vx + vy * vy).clamp(min=1e-6)
        t = t.clamp(0, 1)
        dist = torch.hypot(xs - col(x1) - t * vx, ys - col(y1) - t * vy)
        on_line = (col(thick) / 2 + 0.5 - dist).clamp(0, 1)
        # or a bar: length a fraction of the side, thickness across, horizontal or vertical
        length = d.uniform(*SCAR_BAR_LENGTH)
        horizontal = d.uniform() < 0.5
        hx0 = d.randint(0, torch.trunc(w * (1 - length)))
        hy0 = d.randint(0, h - thick)
        vx0 = d.randint(0, w - thick)
        vy0 = d.randint(0, torch.trunc(h * (1 - length)))
        bx0, by0 = torch.where(horizontal, hx0, vx0), torch.where(horizontal, hy0, vy0)
        bx1 = torch.where(horizontal, hx0 + torch.trunc(w * length), vx0 + thick - 1)
        by1 = torch.where(horizontal, hy0 + thick - 1, vy0 + torch.trunc(h * length))
        on_bar = (xs >= col(bx0)) & (xs <= col(bx1)) & (ys >= col(by0)) & (ys <= col(by1))
        cover = torch.where(col(line), on_line, on_bar.to(x.dtype)) * col(fire & (k < count)).to(x.dtype)
        cover = cover[:, None]
        x = x * (1 - cover) + value.view(-1, 1, 1, 1) * cover
    return x


def normalize_tensor(x: torch.Tensor, spec: Preprocessing) -> torch.Tensor:
    """float (B, C, H, W) pixels in [0, 255] -> the model input, exactly as
    ``grinlab.preprocess.normalize`` computes it (the numpy function inference uses)."""
    x = x.to(torch.float32) / 255.0
    if spec.normalization == "per_image":
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True, correction=0)
        return (x - mean) / std.clamp(min=1e-3)
    if spec.normalization == "mean_std":
        mean = torch.tensor(spec.mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(spec.std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std
    return x


class TensorAugmenter:
    """A preset bound to a seed and a preprocessing spec. ``augmenter(images, index, epoch)`` gives
    the same output for the same (seed, epoch, index), whatever else is in the batch."""

    def __init__(self, preset: str = "light", seed: int = 0, spec: Preprocessing | None = None):
        if preset not in PRESET_RANGES:
            raise GrinlabError(f"unknown augmentation preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self.preset = preset
        self.seed = int(seed)
        self.spec = spec if spec is not None else Preprocessing()

    def augment(self, images: torch.Tensor, index: torch.Tensor, epoch: int) -> torch.Tensor:
        """uint8 (B, H, W[, C]) -> augmented float32 (B, C, H, W) pixels, whole numbers in [0, 255]."""
        if images.dtype != torch.uint8 or images.ndim not in (3, 4):
            raise GrinlabError(
                f"tensor augmentation expects uint8 (B, H, W) or (B, H, W, C) images, got "
                f"{images.dtype} {tuple(images.shape)}"
            )
        channels = 1 if images.ndim == 3 else images.shape[3]
        if channels != self.spec.channels or tuple(images.shape[1:3]) != self.spec.size:
            raise GrinlabError(
                f"images of shape {tuple(images.shape[1:])} do not match the model input "
                f"{self.spec.size} x {self.spec.channels} channel(s); fit the crops first (fit_images)"
            )
        if index.shape != images.shape[:1]:
            raise GrinlabError(f"need one sample index per image, got {tuple(index.shape)} for {len(images)}")
        x = images.to(torch.float32)
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
        r = PRESET_RANGES[self.preset]
        if r is None or len(x) == 0:
            return x.contiguous()
        d = _Draws(sample_keys(self.seed, int(epoch), index.to(images.device)))
        x = _flip(x, d)
        x = _affine(x, d, r)
        x = _brightness_contrast(x, d, r)
        if r.blur_noise_p:
            x = _blur_or_noise(x, d, r.blur_noise_p)
        if r.erase_p:
            x = _erase(x, d, r.erase_p)
        if r.scar_p:
            x = _scars(x, d, r.scar_p)
        # whole pixel values, as the uint8 crops of the per-image path and of inference are
        return x.clamp(0, 255).round()

    def __call__(self, images: torch.Tensor, index: torch.Tensor, epoch: int) -> torch.Tensor:
        """uint8 (B, H, W[, C]) -> normalised float32 (B, C, H, W) model input."""
        return normalize_tensor(self.augment(images, index, epoch), self.spec)
