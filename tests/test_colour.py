"""grinlab.colour on a real photo: exactly OpenCV's conversions for every layout it takes, the
input itself when no conversion is needed, and a GrinlabError for anything else."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import grinlab
from grinlab.colour import to_bgr, to_grey
from grinlab.errors import GrinlabError

ASTRONAUT = Path(grinlab.__file__).parent / "demo_photos" / "astronaut.jpg"  # shipped: no ../shared


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.imread(str(ASTRONAUT))


def test_conversions_are_opencvs(photo):
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA)
    bgra[:, :, 3] = np.random.default_rng(0).integers(0, 256, photo.shape[:2], dtype=np.uint8)
    assert np.array_equal(to_grey(photo), grey)
    assert np.array_equal(to_grey(bgra), grey)  # alpha dropped, never blended
    assert np.array_equal(to_bgr(bgra), photo)
    assert np.array_equal(to_bgr(grey), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    assert np.array_equal(to_grey(grey[:, :, None]), grey) and to_grey(grey[:, :, None]).ndim == 2
    assert np.array_equal(to_bgr(grey[:, :, None]), to_bgr(grey))
    assert np.array_equal(to_grey(to_bgr(grey)), grey)  # grey -> BGR -> grey is lossless


def test_an_image_already_in_the_layout_is_returned_not_copied(photo):
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    assert to_bgr(photo) is photo and to_grey(grey) is grey


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((20, 20, 3), np.float32),
        np.zeros((20, 20, 2), np.uint8),
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((2, 20, 20, 3), np.uint8),
        "astronaut.jpg",
    ],
    ids=["float", "2-channel", "empty", "4-d", "path"],
)
@pytest.mark.parametrize("convert", [to_bgr, to_grey])
def test_other_inputs_are_refused(convert, image):
    with pytest.raises(GrinlabError, match="uint8 image"):
        convert(image)
