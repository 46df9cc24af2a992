"""Property tests of image decoding (hypothesis, bounded for CI; the coverage-guided fuzzer with
100,000s of inputs is fuzz/fuzz_images.py): any bytes give an image or a GrinlabError, never
another exception; every header the project parses gives the size the decoder finds; a header that
lies about its size is refused before decoding."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grinlab.errors import GrinlabError
from grinlab.io.images import ImageTooLarge, decode_image, header_size

# extension -> channel counts OpenCV encodes it with
FORMATS = {".png": (1, 3, 4), ".jpg": (1, 3), ".webp": (3, 4), ".bmp": (1, 3, 4), ".tiff": (1, 3, 4),
           ".pgm": (1,), ".ppm": (3,)}  # fmt: skip
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def encode(ext: str, image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


@st.composite
def images(draw):
    ext = draw(st.sampled_from(sorted(FORMATS)))
    channels = draw(st.sampled_from(FORMATS[ext]))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    depth = np.uint16 if ext in (".png", ".tiff") and draw(st.booleans()) else np.uint8
    seed = draw(st.integers(0, 2**16))
    shape = (h, w) if channels == 1 else (h, w, channels)
    pixels = np.random.default_rng(seed).integers(0, np.iinfo(depth).max, shape, dtype=depth, endpoint=True)
    return ext, pixels


def decodes_or_refuses(data: bytes) -> None:
    try:
        out = decode_image(data, "fuzz", max_pixels=4_000_000)
    except GrinlabError:
        return
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3 and out.size > 0


@FAST
@given(images())
def test_header_size_is_the_decoded_size(case):
    ext, pixels = case
    data = encode(ext, pixels)
    assert header_size(data) == (pixels.shape[1], pixels.shape[0])
    out = decode_image(data, "x")
    assert out.shape[:2] == pixels.shape[:2] and out.dtype == np.uint8 and out.shape[2] == 3


@FAST
@given(st.binary(max_size=4096))
def test_any_bytes_decode_or_raise_grinlab_error(data):
    decodes_or_refuses(data)


@FAST
@given(images(), st.data())
def test_mutated_and_truncated_images_decode_or_raise_grinlab_error(case, data):
    ext, pixels = case
    raw = bytearray(encode(ext, pixels))
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    decodes_or_refuses(bytes(raw[:cut]))


def lie_about_size(ext: str, data: bytes, w: int, h: int) -> bytes:
    """The same file with its header declaring w x h (the body unchanged)."""
    d = bytearray(data)
    if ext == ".png":
        d[16:24] = struct.pack(">II", w, h)
    elif ext == ".jpg":
        i = 2
        while not (0xC0 <= d[i + 1] <= 0xCF and d[i + 1] not in (0xC4, 0xC8, 0xCC)):
            i += 2 + struct.unpack(">H", d[i + 2 : i + 4])[0]
        d[i + 5 : i + 9] = struct.pack(">HH", h, w)
    elif ext == ".bmp":
        d[18:26] = struct.pack("<ii", w, h)
    elif ext == ".webp":  # VP8L: 14-bit width-1 and height-1
        bits = struct.unpack("<I", d[21:25])[0] & ~0x0FFFFFFF
        d[21:25] = struct.pack("<I", bits | (w - 1) | ((h - 1) << 14))
    elif ext == ".pgm":
        return f"P5\n{w} {h}\n255\n".encode() + bytes(data[data.index(b"255\n") + 4 :])
    return bytes(d)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".pgm"])
def test_a_header_that_lies_about_its_size_is_refused_before_decoding(ext):
    pixels = np.full((8, 8), 128, np.uint8) if ext == ".pgm" else np.full((8, 8, 3), 128, np.uint8)
    ok, buf = cv2.imencode(ext, pixels, [cv2.IMWRITE_WEBP_QUALITY, 101] if ext == ".webp" else [])
    w, h = (16000, 16000) if ext == ".webp" else (62000, 44000)  # WebP sizes are 14-bit
    lying = lie_about_size(ext, buf.tobytes(), w, h)
    assert header_size(lying) == (w, h)
    with pytest.raises(ImageTooLarge, match=f"{w}x{h} pixels is over the limit"):
        decode_image(lying, "bomb", max_pixels=50_000_000)


def test_tiff_and_gif_headers():
    tiff = encode(".tiff", np.zeros((7, 9), np.uint8))
    assert header_size(tiff) == (9, 7)
    gif = b"GIF89a" + struct.pack("<HH", 640, 480) + b"\x00" * 8
    assert header_size(gif) == (640, 480)
    assert header_size(b"P6 # a comment\n 12 34\n255\n") == (12, 34)
    assert header_size(b"RIFF\x00\x00\x00\x00WEBPVP8X") is None  # cut short: the decoder judges
