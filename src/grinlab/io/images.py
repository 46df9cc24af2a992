"""Robust image reading: every failure a user can cause becomes a GrinlabError naming the file.

Handles zero-byte, truncated, corrupt and non-image files, 16-bit PNG/TIFF (scaled to 8 bit),
grey, RGBA (alpha dropped) and CMYK JPEG (OpenCV converts it), and refuses images over a pixel
limit *before* decoding them (decompression bombs).
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from ..errors import GrinlabError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
DEFAULT_MAX_PIXELS = 50_000_000  # 50 megapixels; ~150 MB decoded BGR


class ImageTooLarge(GrinlabError):
    """An image over the pixel limit (a decompression bomb, or just too big to analyse)."""


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding, else None (other formats)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + seg_len
    return None


def decode_image(data: bytes, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Encoded bytes -> uint8 BGR (H, W, 3)."""
    if not data:
        raise GrinlabError(f"{name}: empty file (0 bytes)")
    size = header_size(data)
    if size and size[0] * size[1] > max_pixels:
        raise ImageTooLarge(
            f"{name}: {size[0]}x{size[1]} pixels is over the limit of {max_pixels:,}; "
            "raise --max-pixels if you trust this file"
        )
    buf = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise GrinlabError(
            f"{name}: not a readable image (corrupt, truncated or not an image format OpenCV reads)"
        )
    if image.shape[0] * image.shape[1] > max_pixels:
        raise ImageTooLarge(
            f"{name}: {image.shape[1]}x{image.shape[0]} pixels is over the limit of {max_pixels:,}"
        )
    return to_bgr8(image)


def to_bgr8(image: np.ndarray) -> np.ndarray:
    """Any OpenCV-decoded image (8/16-bit or float, grey/BGR/BGRA) -> uint8 BGR."""
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    return image


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as uint8 BGR; the file is only read, never modified."""
    path = Path(path)
    if not path.exists():
        raise GrinlabError(f"{path}: file not found")
    if not path.is_file():
        raise GrinlabError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GrinlabError(f"{path}: cannot read it ({exc.strerror})") from None
    return decode_image(data, str(path), max_pixels)
