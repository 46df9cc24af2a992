"""The detector contract, run over every registered backend on real photos (../shared)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grinlab.detect import FaceDetector, create_detector, list_detectors
from grinlab.errors import GrinlabError
from grinlab.results import FaceBox


@pytest.fixture(scope="module")
def make(request, yunet_path):
    """make(name, **options) -> a detector; yunet gets the shared model file."""

    def _make(name: str, **options) -> FaceDetector:
        if name == "yunet":
            options.setdefault("model_path", yunet_path)
        return create_detector(name, **options)

    return _make


@pytest.fixture(scope="module")
def astronaut(photos_dir) -> np.ndarray:
    return cv2.imread(str(photos_dir / "astronaut.png"))


@pytest.fixture(scope="module")
def group(photos_dir) -> np.ndarray:
    """A dlib_faces photo with six annotated faces of different sizes."""
    return cv2.imread(str(photos_dir / "dlib_faces" / "2008_002470.jpg"))


def contains(box: FaceBox, x: float, y: float) -> bool:
    return box.x <= x <= box.x + box.w and box.y <= y <= box.y + box.h


def assert_valid(faces: list[FaceBox], image: np.ndarray) -> None:
    h, w = image.shape[:2]
    scores = [f.score for f in faces]
    assert scores == sorted(scores, reverse=True), "faces must be sorted by score, highest first"
    for f in faces:
        assert isinstance(f, FaceBox)
        assert 0.0 <= f.score <= 1.0
        assert f.w > 0 and f.h > 0
        assert 0 <= f.x and 0 <= f.y and f.x + f.w <= w + 1e-6 and f.y + f.h <= h + 1e-6


@pytest.mark.parametrize("name", list_detectors())
class TestContract:
    def test_is_a_face_detector(self, make, name):
        assert isinstance(make(name), FaceDetector)

    def test_astronaut_has_one_face_over_eyes_and_mouth(self, make, name, astronaut):
        faces = make(name).detect(astronaut)
        assert len(faces) == 1, faces
        (f,) = faces
        assert_valid(faces, astronaut)
        # hand-read from the photo: eyes near (200, 102) and (247, 103), mouth centre near (220, 143)
        for x, y in [(200, 102), (247, 103), (220, 143)]:
            assert contains(f, x, y), (f, x, y)
        assert 60 < f.w < 140 and 60 < f.h < 160

    def test_blank_images_have_no_face(self, make, name):
        det = make(name)
        assert det.detect(np.zeros((480, 640, 3), np.uint8)) == []
        assert det.detect(np.full((300, 300), 128, np.uint8)) == []

    def test_group_photo_sorted_and_inside(self, make, name, group):
        faces = make(name).detect(group)
        assert len(faces) >= 4
        assert_valid(faces, group)

    def test_grey_bgra_and_bgr_agree(self, make, name, astronaut):
        det = make(name)
        (bgr,) = det.detect(astronaut)
        for variant in (
            cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY),
            cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)[:, :, None],
            cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA),
        ):
            faces = det.detect(variant)
            assert len(faces) == 1 and faces[0].iou(bgr) > 0.7, (variant.shape, faces, bgr)

    def test_face_cut_by_the_border_stays_inside(self, make, name, astronaut):
        image = np.ascontiguousarray(astronaut[40:, 205:])  # the left half of the face is gone
        assert_valid(make(name, score_threshold=0.0).detect(image), image)

    def test_min_face_size_filters_small_faces(self, make, name, group):
        faces = make(name).detect(group)
        sides = sorted(min(f.w, f.h) for f in faces)
        cut = (sides[0] + sides[-1]) / 2
        kept = make(name, min_face_size=int(cut)).detect(group)
        assert kept and all(min(f.w, f.h) >= int(cut) for f in kept)
        assert len(kept) < len(faces)
        # (Haar may find a box at another pyramid scale here, so only the filter itself is asserted)
        big = int(sides[-1]) + 5
        assert all(min(f.w, f.h) >= big for f in make(name, min_face_size=big).detect(group))
        assert make(name, min_face_size=200).detect(group) == []

    def test_max_faces_keeps_the_best(self, make, name, group):
        faces = make(name).detect(group)
        assert make(name, max_faces=2).detect(group) == faces[:2]

    def test_score_threshold_one_drops_almost_all(self, make, name, group):
        assert len(make(name, score_threshold=1.0).detect(group)) <= 1

    def test_detect_width_maps_boxes_back(self, make, name, astronaut):
        (small,) = make(name, detect_width=None).detect(astronaut)
        big = cv2.resize(astronaut, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
        (f,) = make(name, detect_width=512).detect(big)
        scaled = FaceBox(small.x * 2, small.y * 2, small.w * 2, small.h * 2)
        assert f.iou(scaled) > 0.7, (f, scaled)

    @pytest.mark.parametrize(
        "option",
        [
            {"score_threshold": -0.1},
            {"score_threshold": 1.5},
            {"min_face_size": 0},
            {"nms_iou": 0.0},
            {"max_faces": 0},
            {"detect_width": 10},
            {"no_such_option": 1},
        ],
    )
    def test_bad_options_are_refused(self, make, name, option):
        with pytest.raises(GrinlabError, match=next(iter(option))):
            make(name, **option)

    @pytest.mark.parametrize(
        "image",
        [
            np.zeros((100, 100, 3), np.float32),
            np.zeros((100, 100, 2), np.uint8),
            np.zeros((0, 0, 3), np.uint8),
            np.zeros((4, 100, 100, 3), np.uint8),
            "astronaut.png",
        ],
        ids=["float", "2-channel", "empty", "4-d", "path"],
    )
    def test_bad_images_are_refused(self, make, name, image):
        with pytest.raises(GrinlabError, match="uint8 image"):
            make(name).detect(image)
