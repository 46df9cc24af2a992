"""Coverage-guided fuzzing of grinlab's image decoding (grinlab.io.images.decode_image: the header
size checks, then OpenCV's decoders) with atheris (libFuzzer). Allowed outcomes: an image, or a
GrinlabError; anything else (another exception, a crash, a hang, runaway memory) is a finding.

    pip install -e '.[fuzz]'
    python fuzz/fuzz_images.py -runs=100000 -max_len=65536 -timeout=10 -rss_limit_mb=2048 fuzz/corpus/images

The seed corpus (written on first use when the folder is empty) holds small valid PNG, JPEG, WebP,
BMP, TIFF and PNM files, 8 and 16 bit, grey, colour and alpha. Not part of the test suite: the
bounded property tests in tests/io/test_images_properties.py run in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import atheris
from harness import fuzz

with atheris.instrument_imports():
    from grinlab.errors import GrinlabError
    from grinlab.io.images import decode_image

MAX_PIXELS = 4_000_000  # the web server's kind of limit: a finding must not need a huge image


def seed_corpus(folder: Path) -> None:
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    rng = np.random.default_rng(0)
    cases = [(".png", (16, 12, 4), np.uint16), (".png", (9, 7), np.uint8), (".jpg", (16, 16, 3), np.uint8),
             (".jpg", (8, 8), np.uint8), (".webp", (12, 10, 3), np.uint8), (".webp", (6, 6, 4), np.uint8),
             (".bmp", (10, 6, 3), np.uint8), (".tiff", (8, 8, 3), np.uint16), (".tiff", (5, 9), np.uint8),
             (".pgm", (7, 5), np.uint8), (".ppm", (4, 6, 3), np.uint8)]  # fmt: skip
    for k, (ext, shape, dtype) in enumerate(cases):
        pixels = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
        ok, buf = cv2.imencode(ext, pixels)
        if ok:
            (folder / f"seed{k:02d}{ext}").write_bytes(buf.tobytes())


def test_one_input(data: bytes) -> None:
    try:
        image = decode_image(data, "fuzz", max_pixels=MAX_PIXELS)
    except GrinlabError:
        return
    if image.dtype.name != "uint8" or image.ndim != 3 or image.shape[2] != 3:
        raise AssertionError(f"decode_image returned {image.dtype} {image.shape}")


def main() -> None:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # corrupt inputs make OpenCV talk on stderr
    fuzz(test_one_input, seed_corpus)


if __name__ == "__main__":
    main()
