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


def _unit(bits: torch.Tensor) -> torch.Tensor:
    return (bits >> 8).to(torch.float32) * 2.0**-24  # [0, 1), exact in float32


class _Draws:
    """Uniform/normal draws for a batch: draw number n of sample i hashes (key_i, n[, element]).
    Every op takes all its draw numbers whether it fires or not, so a draw's number is fixed by the
    code order alone."""

    BLOCK = 32  # draw numbers hashed at once: a few kernels per block instead of a dozen per draw

    def __init__(self, keys: torch.Tensor):
        self.keys = keys
        self.stream = 0
        self._block_start, self._block = 0, None

    def _bits(self, keys: torch.Tensor, stream: int, shape: tuple[int, ...] = ()) -> torch.Tensor:
        bits = _hash2(keys, stream)  # stream is a python int: no host-to-device copy per draw
        if shape:  # per-element draws (noise): one mix each, they are the costly part on CPU
            elements = torch.arange(math.prod(shape), dtype=torch.int64, device=keys.device)
            return _mix((bits[:, None] + elements[None]) & M32).view(-1, *shape)
        return bits

    def _next(self) -> int:
        self.stream += 1
        return self.stream

    def _draw_bits(self, stream: int) -> torch.Tensor:
        """_bits(keys, stream), taken from a block of BLOCK draw numbers hashed together: on a GPU a
        batch's augmentation is otherwise hundreds of tiny integer kernels, launched one by one."""
        if self._block is None or not self._block_start <= stream < self._block_start + self.BLOCK:
            words = torch.arange(stream, stream + self.BLOCK, dtype=torch.int64, device=self.keys.device)
            self._block_start, self._block = stream, _hash2(self.keys[:, None], words[None])
        return self._block[:, stream - self._block_start]

    def uniform(self, lo=0.0, hi=1.0) -> torch.Tensor:
        """One float per sample, uniform in [lo, hi)."""
        return lo + (hi - lo) * _unit(self._draw_bits(self._next()))

    def randint(self, lo, hi) -> torch.Tensor:
        """Integers in [lo, hi] inclusive (bounds may be per-sample tensors), as float32."""
        v = torch.floor(lo + self.uniform() * (hi - lo + 1))  # u < 1, but float rounding may reach hi + 1
        return torch.minimum(v, hi) if torch.is_tensor(hi) else v.clamp(max=hi)

    def normal(self, shape: tuple[int, ...]):
        """Takes its draw numbers now; returns ``draw(rows)``: standard normals of ``shape`` for
        the samples at ``rows`` only (per-pixel noise is costly, and only some samples need it)."""
        stream = self._next()

        def draw(rows: torch.Tensor) -> torch.Tensor:
            # Box-Muller on the two 16-bit halves of one hash: tails to 4.7 sigma, plenty for noise
            bits = self._bits(self.keys[rows], stream, shape)
            u1 = 1.0 - (bits >> 16).to(torch.float32) * 2.0**-16  # (0, 1]: the log is finite
            u2 = (bits & 0xFFFF).to(torch.float32) * 2.0**-16
            return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)

        return draw


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, *([1] * (a.ndim - 1))), a, b)


def _all_rows(x: torch.Tensor) -> bool:
    return x.device.type != "cpu"


def _apply_to(mask: torch.Tensor, x: torch.Tensor, fn) -> torch.Tensor:
    """``x`` with its samples where ``mask`` is set replaced by ``fn(rows)`` (their positions). On the
    CPU the costly pixel work runs only for samples whose op fires (one host sync per op to find
    them); on a GPU, where that work is cheap and a sync stalls the queue, it runs for all of them."""
    if _all_rows(x):
        return _where(mask, fn(torch.arange(len(x), device=x.device)).to(x.dtype), x)
    rows = torch.nonzero(mask).squeeze(1)
    if rows.numel() == 0:
        return x
    out = x.clone()
    out[rows] = fn(rows).to(x.dtype)
    return out


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
    return _apply_to(fire, x, lambda r: affine_warp(x[r], tx[r], ty[r], sx[r], sy[r], degrees[r]))


def _brightness_contrast(x: torch.Tensor, d: _Draws, r: PresetRanges) -> torch.Tensor:
    """albumentations' RandomBrightnessContrast (brightness by max): x * (1 + c) + b * 255."""
    fire = d.uniform() < BRIGHTNESS_CONTRAST_P
    alpha = 1.0 + d.uniform(-r.brightness_contrast, r.brightness_contrast)
    beta = d.uniform(-r.brightness_contrast, r.brightness_contrast) * 255.0
    out = (x * alpha.view(-1, 1, 1, 1) + beta.view(-1, 1, 1, 1)).clamp(0, 255)
    return _where(fire, out, x)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, size5: torch.Tensor) -> torch.Tensor:
    """Per-sample separable Gaussian blur of float (B, C, H, W), kernel 5 or 3 taps, border
    reflect-101 (OpenCV's default, which albumentations uses)."""
    b, c, h, w = x.shape
    taps = torch.arange(-2, 3, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (taps[None] / sigma[:, None]) ** 2)
    kernel = kernel * ((taps.abs() < 2)[None] | size5[:, None])
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, 5)
    flat = F.pad(x.reshape(1, b * c, h, w), (2, 2, 2, 2), mode="reflect")
    flat = F.conv2d(flat, kernel.view(b * c, 1, 1, 5), groups=b * c)
    return F.conv2d(flat, kernel.view(b * c, 1, 5, 1), groups=b * c).view(b, c, h, w)


def _blur_or_noise(x: torch.Tensor, d: _Draws, p: float) -> torch.Tensor:
    """One of: Gaussian blur (kernel 3 or 5: albumentations rounds an even size up) or per-pixel
    Gaussian noise."""
    _, c, h, w = x.shape
    fire = d.uniform() < p
    blur = d.uniform() < 0.5
    size5 = d.randint(*BLUR_KSIZE) > 3
    sigma = d.uniform(*BLUR_SIGMA)
    std = d.uniform(*NOISE_STD) * 255.0
    noise = d.normal((c, h, w))
    x = _apply_to(fire & blur, x, lambda r: gaussian_blur(x[r], sigma[r], size5[r]))
    return _apply_to(fire & ~blur, x, lambda r: (x[r] + std[r].view(-1, 1, 1, 1) * noise(r)).clamp(0, 255))


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


def _scar_cover(p: dict, h: int, w: int) -> torch.Tensor:
    """(B, 1, H, W) coverage in [0, 1] of one scar per sample, from its parameters ``p``."""
    ys = torch.arange(h, device=p["x1"].device, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, device=p["x1"].device, dtype=torch.float32).view(1, 1, w)
    p = {k: v.view(-1, 1, 1) for k, v in p.items()}
    # a line between two pixels, anti-aliased: coverage falls off over the last pixel of its width
    vx, vy = p["x2"] - p["x1"], p["y2"] - p["y1"]
    t = ((xs - p["x1"]) * vx + (ys - p["y1"]) * vy) / (vx * vx + vy * vy).clamp(min=1e-6)
    t = t.clamp(0, 1)
    dist = torch.hypot(xs - p["x1"] - t * vx, ys - p["y1"] - t * vy)
    on_line = (p["thick"] / 2 + 0.5 - dist).clamp(0, 1)
    # or a filled axis-aligned bar (both corners inclusive, as cv2.rectangle)
    on_bar = (xs >= p["bx0"]) & (xs <= p["bx1"]) & (ys >= p["by0"]) & (ys <= p["by1"])
    return torch.where(p["line"], on_line, on_bar.float())[:, None]


def _scars(x: torch.Tensor, d: _Draws, p: float) -> torch.Tensor:
    """augment.Scar: 1..SCAR_MAX dark or bright thin lines (any angle) or bars (horizontal or vertical)."""
    _, _, h, w = x.shape
    fire = d.uniform() < p
    count = d.randint(1, SCAR_MAX)
    for k in range(SCAR_MAX):
        dark = d.uniform() < 0.5
        value = torch.where(dark, d.randint(*SCAR_DARK), d.randint(*SCAR_BRIGHT))
        thick = torch.clamp(torch.round(d.uniform(*SCAR_THICKNESS) * min(h, w)), min=1)
        line = d.uniform() < 0.5
        x1, y1, x2, y2 = d.randint(0, w - 1), d.randint(0, h - 1), d.randint(0, w - 1), d.randint(0, h - 1)
        length = d.uniform(*SCAR_BAR_LENGTH)
        horizontal = d.uniform() < 0.5
        hx0, hy0 = d.randint(0, torch.trunc(w * (1 - length))), d.randint(0, h - thick)
        vx0, vy0 = d.randint(0, w - thick), d.randint(0, torch.trunc(h * (1 - length)))
        params = {
            "thick": thick, "line": line, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
            "bx0": torch.where(horizontal, hx0, vx0),
            "by0": torch.where(horizontal, hy0, vy0),
            "bx1": torch.where(horizontal, hx0 + torch.trunc(w * length), vx0 + thick - 1),
            "by1": torch.where(horizontal, hy0 + thick - 1, vy0 + torch.trunc(h * length)),
        }  # fmt: skip

        def draw(rows, params=params, value=value, x=x):
            cover = _scar_cover({name: v[rows] for name, v in params.items()}, h, w)
            return x[rows] * (1 - cover) + value[rows].view(-1, 1, 1, 1) * cover

        x = _apply_to(fire & (k < count), x, draw)
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
