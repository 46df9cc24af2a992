"""Inputs the fuzzers (fuzz/) once crashed on, kept as regression tests: each must now give a
result or a GrinlabError. Add a file to tests/data/fuzz/ named after its harness (fer_csv_*,
image_*) when a fuzzer finds something."""

from __future__ import annotations

from pathlib import Path

import pytest

from grinlab.data.fer2013 import parse_rows
from grinlab.errors import GrinlabError
from grinlab.io.images import decode_image

FOUND = Path(__file__).parent / "fuzz"
TARGETS = {
    "fer_csv": lambda data: parse_rows(data, "found.csv"),
    "image": lambda data: decode_image(data, "found"),
}


@pytest.mark.parametrize("path", sorted(FOUND.iterdir()), ids=lambda p: p.name)
def test_a_fuzzer_finding_is_a_result_or_one_error(path):
    target = TARGETS[next(k for k in TARGETS if path.name.startswith(k))]
    try:
        target(path.read_bytes())
    except GrinlabError as exc:
        assert str(exc)


def test_a_tab_inside_the_pixels_names_the_row_and_the_value():
    with pytest.raises(GrinlabError, match=r"row 1: pixels has '0\\t7'.*separated by single spaces"):
        parse_rows(b"emotion,pixels,Usage\n3," + b"0\t7 " + b"1 " * 2302 + b"1,Training\n")


def test_a_png_chunk_longer_than_the_file_is_refused_before_decoding():
    """91 bytes declaring a 1.2 GB IDAT made OpenCV allocate 1.1 GB (found by fuzz/fuzz_images.py)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(GrinlabError, match="chunk runs past the end"):
        decode_image((FOUND / "image_png_idat_declares_1gb.png").read_bytes(), "found")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: no big allocation
