"""Registry, auto choice and what is specific to each backend (Haar's score, YuNet's landmarks)."""

from __future__ import annotations

import subprocess
import sys

import cv2
import pytest

import grinlab.detect as detect
from grinlab.detect import DetectorOptions, create_detector, list_detectors, nms, register_detector
from grinlab.detect.haar import HaarDetector
from grinlab.detect.yunet import YuNetDetector
from grinlab.errors import GrinlabError
from grinlab.results import FaceBox


@pytest.fixture
def no_cached_models(tmp_path, monkeypatch):
    monkeypatch.setenv("GRINLAB_HOME", str(tmp_path))
    monkeypatch.delenv("GRINLAB_YUNET_MODEL", raising=False)
    return tmp_path


def test_registry_lists_both_backends():
    assert {"haar", "yunet"} <= set(list_detectors())


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(GrinlabError, match="unknown detector 'mtcnn'.*haar.*yunet"):
        create_detector("mtcnn")


def test_auto_without_model_is_haar(no_cached_models):
    assert isinstance(create_detector("auto"), HaarDetector)
    assert isinstance(create_detector(), HaarDetector)


def test_auto_with_a_model_is_yunet(no_cached_models, monkeypatch, yunet_path):
    assert isinstance(create_detector("auto", model_path=yunet_path), YuNetDetector)
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(yunet_path))
    assert isinstance(create_detector("auto"), YuNetDetector)


def test_auto_passes_shared_options_to_either_backend(no_cached_models, yunet_path):
    assert create_detector("auto", max_faces=3).options.max_faces == 3
    assert create_detector("auto", max_faces=3, model_path=yunet_path).options.max_faces == 3


def test_yunet_without_model_says_how_to_get_it(no_cached_models):
    with pytest.raises(GrinlabError) as err:
        create_detector("yunet")
    msg = str(err.value)
    assert "grinlab download yunet" in msg and "--yunet-model" in msg and "GRINLAB_YUNET_MODEL" in msg


def test_yunet_with_a_missing_or_broken_model_names_the_file(tmp_path):
    with pytest.raises(GrinlabError, match="nope.onnx.*not found"):
        create_detector("yunet", model_path=tmp_path / "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file")
    with pytest.raises(GrinlabError, match="junk.onnx"):
        create_detector("yunet", model_path=junk)


def test_register_a_custom_backend(monkeypatch):
    monkeypatch.setattr(detect, "_FACTORIES", dict(detect._FACTORIES))

    class Whole:
        def __init__(self, options):
            self.options = options

        def detect(self, image):
            return [FaceBox(0, 0, image.shape[1], image.shape[0])]

    register_detector("whole", Whole)
    assert "whole" in list_detectors()
    det = create_detector("whole", max_faces=1)
    assert det.options == DetectorOptions(max_faces=1)


def test_haar_score_and_options(photos_dir):
    image = cv2.imread(str(photos_dir / "dlib_faces" / "2008_002470.jpg"))
    faces = create_detector("haar").detect(image)
    assert faces and all(0.5 <= f.score < 1.0 and f.landmarks is None for f in faces)
    with pytest.raises(GrinlabError, match="scale_factor"):
        create_detector("haar", scale_factor=1.0)
    with pytest.raises(GrinlabError, match="min_neighbors"):
        create_detector("haar", min_neighbors=-1)


def test_haar_cascade_choice(photos_dir, tmp_path):
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    other = create_detector("haar", cascade="haarcascade_frontalface_default.xml", min_neighbors=3)
    assert other.cascade.name == "haarcascade_frontalface_default.xml" and len(other.detect(image)) == 1
    with pytest.raises(GrinlabError, match="haarcascade_nope.xml not found"):
        create_detector("haar", cascade="haarcascade_nope.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(GrinlabError, match="bad.xml: OpenCV cannot load"):
        create_detector("haar", cascade=str(bad))


def test_yunet_landmarks_in_order(photos_dir, yunet_path):
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    (f,) = create_detector("yunet", model_path=yunet_path).detect(image)
    assert f.score > 0.8 and len(f.landmarks) == 5
    right_eye, left_eye, nose, mouth_r, mouth_l = f.landmarks
    assert right_eye[0] < nose[0] < left_eye[0]  # subject's right eye is on the viewer's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_r[1], mouth_l[1])


def test_yunet_handles_changing_sizes_and_tiny_images(photos_dir, yunet_path):
    det = create_detector("yunet", model_path=yunet_path)
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    for img in (image, image[:300], image, cv2.resize(image, (20, 20))):
        faces = det.detect(img)
        assert len(faces) <= 1


def test_yunet_finds_the_solvay_group(photos_dir, yunet_path):
    image = cv2.imread(str(photos_dir / "solvay_1927" / "Solvay_conference_1927.jpg"))
    assert 25 <= len(create_detector("yunet", model_path=yunet_path).detect(image)) <= 32  # 29 people


def test_nms_keeps_the_best_of_overlapping_boxes():
    a, b, c = FaceBox(0, 0, 10, 10, 0.6), FaceBox(1, 1, 10, 10, 0.9), FaceBox(50, 50, 10, 10, 0.7)
    assert nms([a, b, c], 0.3) == [b, c]
    assert nms([a, b, c], 0.99) == [b, c, a]


def test_inference_modules_do_not_import_torch(photos_dir):
    code = (
        "import sys, cv2, grinlab.detect, grinlab.align, grinlab.assets;"
        f"img = cv2.imread({str(photos_dir / 'astronaut.png')!r});"
        "b = grinlab.detect.create_detector('haar').detect(img)[0];"
        "grinlab.align.crop_face(img, b, size=64);"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
