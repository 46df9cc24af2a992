"""Robust image reading: every failure a user can cause becomes a GrinlabError naming the file.

Handles zero-byte, truncated, corrupt and non-image files, 16-bit PNG/TIFF (scaled to 8 bit),
grey, RGBA (alpha dropped) and CMYK JPEG (OpenCV converts it), and refuses images over a pixel
limit *before* decoding them (decompression bombs), from the header of every format it reads
(PNG, JPEG, WebP, BMP, TIFF, GIF, PNM); other formats rely on OpenCV's own limit.

``read_image`` is grinlab's one image-file reader (the runtime and the dataset loaders alike), and
``IMAGE_SUFFIXES`` the one list of the file names taken for images.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from ..colour import to_bgr, to_grey
from ..errors import GrinlabError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
DEFAULT_MAX_PIXELS = 50_000_000  # 50 megapixels; ~150 MB decoded BGR


class ImageTooLarge(GrinlabError):
    """An image over the pixel limit (a decompression bomb, or just too big to analyse)."""


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) that the header of a PNG, JPEG, WebP, BMP, TIFF, GIF or PNM file declares,
    read without decoding; None for other formats or a header too short to say."""
    try:
        for sniff in (_png, _jpeg, _webp, _bmp, _tiff, _gif, _pnm):
            size = sniff(data)
            if size is not None:
                return size
    except (struct.error, ValueError, IndexError):  # a header cut short or lying: let the decoder judge
        return None
    return None


def _png(d: bytes):
    if d[:8] == b"\x89PNG\r\n\x1a\n" and len(d) >= 24:
        return struct.unpack(">II", d[16:24])
    return None


def _jpeg(d: bytes):
    if d[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(d):
        if d[i] != 0xFF:
            i += 1
            continue
        marker = d[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        seg_len = struct.unpack(">H", d[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", d[i + 5 : i + 9])
            return w, h
        i += 2 + seg_len
    return None


def _webp(d: bytes):
    if d[:4] != b"RIFF" or d[8:12] != b"WEBP" or len(d) < 30:
        return None
    chunk = d[12:16]
    if chunk == b"VP8 ":  # lossy: 14-bit sizes after the frame tag and start code
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":  # lossless: 14-bit width-1 and height-1 after the signature byte
        bits = struct.unpack("<I", d[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        return int.from_bytes(d[24:27], "little") + 1, int.from_bytes(d[27:30], "little") + 1
    return None


def _bmp(d: bytes):
    if d[:2] != b"BM" or len(d) < 26:
        return None
    if struct.unpack("<I", d[14:18])[0] == 12:  # OS/2 BITMAPCOREHEADER
        return struct.unpack("<HH", d[18:22])
    w, h = struct.unpack("<ii", d[18:26])
    return abs(w), abs(h)  # a negative height means top-down rows


def _tiff(d: bytes):
    if d[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    end = "<" if d[:2] == b"II" else ">"
    ifd = struct.unpack(end + "I", d[4:8])[0]
    count = struct.unpack(end + "H", d[ifd : ifd + 2])[0]
    size = {}
    for k in range(count):
        tag, kind = struct.unpack(end + "HH", d[ifd + 2 + 12 * k : ifd + 6 + 12 * k])
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
            at = ifd + 10 + 12 * k
            size[tag] = struct.unpack(
                end + ("H" if kind == 3 else "I"), d[at : at + (2 if kind == 3 else 4)]
            )[0]
    return (size[256], size[257]) if len(size) == 2 else None


def _gif(d: bytes):
    if d[:6] in (b"GIF87a", b"GIF89a") and len(d) >= 10:
        return struct.unpack("<HH", d[6:10])
    return None


def _pnm(d: bytes):
    if len(d) < 3 or d[0:1] != b"P" or d[1:2] not in b"123456":
        return None
    tokens, i = [], 2
    while len(tokens) < 2 and i < min(len(d), 1024):
        c = d[i : i + 1]
        if c == b"#":  # a comment runs to the end of the line
            while i < len(d) and d[i : i + 1] not in (b"\n", b"\r"):
                i += 1
        elif c.isspace():
            i += 1
        else:
            j = i
            while j < len(d) and d[j : j + 1].isdigit():
                j += 1
            if j == i:
                return None
            tokens.append(int(d[i:j]))
            i = j
    return (tokens[0], tokens[1]) if len(tokens) == 2 else None


def _png_chunks_fit(d: bytes) -> bool:
    """Whether every PNG chunk fits in the file. OpenCV's PNG reader allocates a chunk's declared
    length before reading it: a 91-byte file declaring a 1.2 GB IDAT took 1.1 GB (fuzz/fuzz_images.py)."""
    i = 8
    while i + 8 <= len(d):
        length = struct.unpack(">I", d[i : i + 4])[0]
        if i + 12 + length > len(d):
            return False
        if d[i + 4 : i + 8] == b"IEND":
            return True
        i += 12 + length
    return True  # cut short between chunks: the decoder reports the truncation


def check_size(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse an image whose header declares more than ``max_pixels`` pixels, or whose PNG chunks
    declare more bytes than the file holds, before decoding."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and not _png_chunks_fit(data):
        raise GrinlabError(f"{name}: not a readable image (a PNG chunk runs past the end of the file)")
    size = header_size(data)
    if size and size[0] * size[1] > max_pixels:
        raise ImageTooLarge(
            f"{name}: {size[0]}x{size[1]} pixels is over the limit of {max_pixels:,}; "
            "raise --max-pixels if you trust this file"
        )


def decode_image(
    data: bytes,
    name: str = "image",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    keep_grey: bool = False,
    exif_orientation: bool = True,
) -> np.ndarray:
    """Encoded bytes -> uint8 BGR (H, W, 3); see ``read_image`` for the options."""
    if not data:
        raise GrinlabError(f"{name}: empty file (0 bytes)")
    check_size(data, name, max_pixels)
    # IMREAD_UNCHANGED is the one flag with which OpenCV ignores the EXIF Orientation tag; any
    # other turns the pixels as the tag says (ANYDEPTH keeps 16 bit for to_uint8's rounding).
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if exif_orientation else cv2.IMREAD_UNCHANGED
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:  # OpenCV's own limits (OPENCV_IO_MAX_IMAGE_PIXELS) and decoder errors
        image = None
    if image is None or image.size == 0:
        raise GrinlabError(
            f"{name}: not a readable image (corrupt, truncated or not an image format OpenCV reads)"
        )
    if image.shape[0] * image.shape[1] > max_pixels:
        raise ImageTooLarge(
            f"{name}: {image.shape[1]}x{image.shape[0]} pixels is over the limit of {max_pixels:,}"
        )
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise GrinlabError(f"{name}: not a readable image ({image.shape[2]} channels)")
    image = to_uint8(image)
    if keep_grey and (image.ndim == 2 or image.shape[2] == 1):
        return to_grey(image)
    return to_bgr(image)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Any OpenCV-decoded image (8/16-bit or float) -> uint8, channels untouched."""
    if image.dtype == np.uint16:
        return (image / 257.0).round().astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    if image.dtype != np.uint8:
        return cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return image


def read_image(
    path: str | Path,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    keep_grey: bool = False,
    exif_orientation: bool = True,
) -> np.ndarray:
    """Read an image file as uint8 BGR (H, W, 3); the file is only read, never modified. Every
    failure is a GrinlabError naming the file (an ImageTooLarge over ``max_pixels``).

    keep_grey: a grey file comes back grey (H, W) instead of BGR (datasets of grey crops keep a
        third of the memory; grinlab.colour converts wherever a model needs the other layout).
    exif_orientation: turn the pixels as the file's EXIF Orientation tag says (the default, as
        photo viewers and browsers show a phone's photo: upright, so its faces are found and boxes
        match what the user sees); False reads the pixels as stored.
    """
    path = Path(path)
    if not path.exists():
        raise GrinlabError(f"{path}: file not found")
    if not path.is_file():
        raise GrinlabError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GrinlabError(f"{path}: cannot read it ({exc.strerror})") from None
    return decode_image(data, str(path), max_pixels, keep_grey=keep_grey, exif_orientation=exif_orientation)
