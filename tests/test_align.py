"""crop_face and its matrices: hand-computed references, then real photos."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

import grinlab
from grinlab.align import (
    LANDMARK_BOX_WIDTH_RATIO,
    crop_face,
    crop_largest_face,
    crop_matrix,
    crop_side,
    eye_alignment_matrix,
    eye_angle,
    similarity_matrix,
    transform_points,
)
from grinlab.detect import create_detector
from grinlab.errors import GrinlabError
from grinlab.results import FaceBox

R = math.sqrt(0.5)


@pytest.mark.parametrize(
    "eyes, angle",
    [
        (((10, 20), (30, 20)), 0.0),
        (((0, 0), (10, 10)), 45.0),
        (((0, 0), (10, -10)), -45.0),
        (((0, 0), (0, 5)), 90.0),
    ],
)
def test_eye_angle(eyes, angle):
    assert eye_angle(eyes) == pytest.approx(angle)


def test_level_eyes_give_the_identity():
    m = eye_alignment_matrix([(10, 20), (30, 20)])
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-12)


def test_eyes_at_45_degrees_hand_computed():
    # eyes (0, 0) and (10, 10): rotate 45 degrees about their midpoint (5, 5)
    # M = [[c, s, 5 - 5c - 5s], [-s, c, 5 + 5s - 5c]] with c = s = sqrt(1/2)
    m = eye_alignment_matrix([(0, 0), (10, 10)])
    np.testing.assert_allclose(m, [[R, R, 5 - 10 * R], [-R, R, 5]], atol=1e-12)
    eyes = transform_points(m, [(0, 0), (10, 10)])
    assert eyes[0, 1] == pytest.approx(eyes[1, 1])  # level
    assert eyes[1, 0] - eyes[0, 0] == pytest.approx(math.hypot(10, 10))  # distance kept


def test_similarity_matrix_matches_opencv_and_moves_the_centre():
    m = similarity_matrix((40, 30), 17.0, 0.5, (40, 30))
    np.testing.assert_allclose(m, cv2.getRotationMatrix2D((40, 30), 17.0, 0.5), atol=1e-12)
    m = similarity_matrix((40, 30), -30.0, 2.0, (8, 8))
    np.testing.assert_allclose(transform_points(m, [(40, 30)]), [[8, 8]], atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(m[:, :2]), 4.0)


def test_crop_without_landmarks_is_the_plain_square(photos_dir):
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    box = FaceBox(170, 60, 100, 80)  # centre (220, 100): the square is x 170..270, y 50..150
    np.testing.assert_array_equal(crop_face(image, box, margin=0.0), image[50:150, 170:270])
    m, out = crop_matrix(box, margin=0.2, size=60)
    assert out == 60 and crop_side(box, 0.2) == pytest.approx(120)
    np.testing.assert_allclose(m, [[0.5, 0, -80], [0, 0.5, -20]])


def test_landmark_boxes_are_framed_in_haar_widths():
    box = FaceBox(0, 0, 84, 110, landmarks=((20, 40), (60, 40), (40, 60), (25, 80), (55, 80)))
    assert crop_side(box, 0.0) == pytest.approx(84 / LANDMARK_BOX_WIDTH_RATIO)


def test_size_and_channels(photos_dir):
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    box = FaceBox(177, 67, 93, 93)
    assert crop_face(image, box, size=48).shape == (48, 48, 3)
    assert crop_face(image, box, size=300).shape == (300, 300, 3)
    assert crop_face(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), box, size=48).shape == (48, 48)
    assert crop_face(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA), box, size=48).shape == (48, 48, 4)
    assert crop_face(image[:, :, :1], box, size=48).shape == (48, 48, 1)
    # a strong shrink is smoothed like a resize of the plain crop (no aliasing)
    direct = cv2.resize(image[56:168, 168:280], (24, 24), interpolation=cv2.INTER_AREA)
    small = crop_face(image, FaceBox(168, 56, 112, 112), margin=0.0, size=24)
    assert np.abs(small.astype(int) - direct).mean() < 2


def test_crop_largest_face_of_a_group_photo():
    """The one 'largest face -> crop' step: on the shipped Solvay 1927 photo (29 faces) it is
    crop_face of the largest box, with the photo's channels, the given margin and size."""
    photo = cv2.imread(str(Path(grinlab.__file__).parent / "demo_photos" / "solvay_1927.jpg"))
    haar = create_detector("haar")
    boxes = haar.detect(photo)
    largest = max(boxes, key=lambda b: b.area)
    assert len(boxes) > 10 and largest is not boxes[0]  # the largest is not simply the first found
    assert np.array_equal(crop_largest_face(photo, haar), crop_face(photo, largest))
    crop = crop_largest_face(photo, haar, margin=0.5, size=64)
    assert np.array_equal(crop, crop_face(photo, largest, margin=0.5, size=64)) and crop.shape == (64, 64, 3)
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    assert crop_largest_face(grey, haar, size=64).shape == (64, 64)  # grey in, grey crop out
    assert crop_largest_face(np.full((200, 200, 3), 128, np.uint8), haar) is None


def test_border_padding():
    image = np.full((50, 50, 3), 200, np.uint8)
    image[:, 0] = 90  # left column, replicated to the left of the image
    box = FaceBox(-10, 10, 20, 20)
    rep = crop_face(image, box, margin=0.0)
    assert rep.shape == (20, 20, 3) and (rep[:, :10] == 90).all() and (rep[:, 11:] == 200).all()
    const = crop_face(image, box, margin=0.0, border="constant")
    assert (const[:, :10] == 0).all()


def test_a_tilted_face_comes_out_level(photos_dir, yunet_path):
    """Tilt the photo by 25 degrees and move the detection with it (YuNet itself follows in-plane
    tilt only partly: on this photo it reports 4 degrees for 25): the aligned crop of the tilted
    photo is the crop of the upright one."""
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    (face,) = create_detector("yunet", model_path=yunet_path).detect(image)
    rot = cv2.getRotationMatrix2D((224, 110), -25, 1.0)
    tilted = cv2.warpAffine(image, rot, (512, 512))
    ((cx, cy),) = transform_points(rot, [(face.x + face.w / 2, face.y + face.h / 2)])
    marks = transform_points(rot, face.landmarks)
    moved = FaceBox(cx - face.w / 2, cy - face.h / 2, face.w, face.h, face.score, tuple(map(tuple, marks)))
    assert eye_angle(moved.landmarks) == pytest.approx(eye_angle(face.landmarks) + 25)
    m, _ = crop_matrix(moved, size=96)
    eyes = transform_points(m, moved.landmarks[:2])
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1e-6
    upright, level = crop_face(image, face, size=96), crop_face(tilted, moved, size=96)
    inner = (slice(16, 80), slice(16, 80))  # the corners of the tilted photo hold its black fill
    assert np.abs(upright[inner].astype(int) - level[inner]).mean() < 6
    assert (
        np.abs(upright[inner].astype(int) - crop_face(tilted, moved, size=96, level_eyes=False)[inner]).mean()
        > 20
    )


def test_haar_and_yunet_crops_agree(genki_dir, yunet_path):
    haar, yunet = create_detector("haar"), create_detector("yunet", model_path=yunet_path)
    sides, shifts = [], []
    for path in sorted((genki_dir / "files").glob("*.jpg"))[:400:40]:
        image = cv2.imread(str(path))
        h, y = haar.detect(image), yunet.detect(image)
        if not h or not y:
            continue
        hb, yb = max(h, key=lambda b: b.area), max(y, key=lambda b: b.area)
        sides.append(crop_side(yb) / crop_side(hb))
        shifts.append(
            math.dist((hb.x + hb.w / 2, hb.y + hb.h / 2), (yb.x + yb.w / 2, yb.y + yb.h / 2)) / crop_side(hb)
        )
    assert len(sides) >= 6
    assert 0.9 < float(np.median(sides)) < 1.1
    assert float(np.median(shifts)) < 0.1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"margin": -0.1}, "margin"),
        ({"size": 0}, "size"),
        ({"size": 10.5}, "size"),
        ({"border": "wrap"}, "border"),
        ({"box": FaceBox(0, 0, 0, 10)}, "positive size"),
        ({"image": np.zeros((10, 10), np.float32)}, "uint8 image"),
        ({"image": None}, "uint8 image"),
    ],
)
def test_misuse(kwargs, message):
    args = {"image": np.zeros((64, 64, 3), np.uint8), "box": FaceBox(10, 10, 20, 20)} | kwargs
    with pytest.raises(GrinlabError, match=message):
        crop_face(**args)
