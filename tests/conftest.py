"""Shared fixtures: where the real datasets and third-party models live.

Tests that need ../shared skip with a clear reason when it is absent (e.g. a clone without it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GRINLAB_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
MODELS = SHARED / "models"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"needs {path} (the shared datasets beside the repo; set GRINLAB_SHARED to point elsewhere)"
        )
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _need(DATA)


@pytest.fixture(scope="session")
def fer2013_csv() -> Path:
    return _need(DATA / "fer2013" / "fer2013.csv.xz")


@pytest.fixture(scope="session")
def ferplus_csv() -> Path:
    return _need(DATA / "fer2013" / "ferplus" / "fer2013new.csv")


@pytest.fixture(scope="session")
def smilesmiled_dir() -> Path:
    return _need(DATA / "smilesmiled")


@pytest.fixture(scope="session")
def genki_dir() -> Path:
    return _need(DATA / "genki4k")


@pytest.fixture(scope="session")
def facehack_dir() -> Path:
    return _need(DATA / "facehack")


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    return _need(DATA / "test-photos")


@pytest.fixture(scope="session")
def yunet_path() -> Path:
    return _need(MODELS / "face_detection_yunet_2023mar.onnx")


# -- real faces for the live and gate tests (tests/sequences.py pastes them on frames) ------

FACE_SCALE = 1.0  # GENKI photos as they are: ~180x190 px, faces ~80-110 px wide


@pytest.fixture(scope="session")
def smile_analyzer(yunet_path):
    from grinlab.pipeline import Analyzer

    with Analyzer(detector="yunet", detector_options={"model_path": str(yunet_path)}, models=("smile",)) as a:
        yield a


@pytest.fixture(scope="session")
def genki_faces(genki_dir, smile_analyzer):
    """{"smile": [img, img], "neutral": [img, img]}: scaled GENKI photos (BGR).

    The faces are picked, not hand-listed: the first GENKI-4K images (by file number) labelled
    smile that the shipped smile model, through the full pipeline, calls smiling with P >= 0.9,
    and the first labelled non-smile with P <= 0.1. So a test about tracking or the gate does not
    depend on the model's errors, and the picks are the same on every run."""
    import cv2

    labels = (genki_dir / "labels.txt").read_text().splitlines()
    picked = {"smile": [], "neutral": []}
    for n, line in enumerate(labels, start=1):
        path = genki_dir / "files" / f"file{n:04d}.jpg"
        if not line.strip() or not path.exists():
            continue
        kind = "smile" if line.split()[0] == "1" else "neutral"
        if len(picked[kind]) >= 2:
            if all(len(v) >= 2 for v in picked.values()):
                break
            continue
        img = cv2.imread(str(path))
        img = cv2.resize(img, None, fx=FACE_SCALE, fy=FACE_SCALE, interpolation=cv2.INTER_CUBIC)
        if img.shape[0] > 220 or img.shape[1] > 220:
            continue
        r = smile_analyzer.analyze(img)
        if len(r.faces) != 1:
            continue
        p = r.faces[0].smile_intensity
        if (kind == "smile" and p >= 0.9) or (kind == "neutral" and p <= 0.1):
            picked[kind].append(img)
    assert all(len(v) == 2 for v in picked.values()), "not enough confident GENKI-4K faces"
    return picked


# -- videos made from those faces, moved frame to frame at 30 frames/s ---------------------


@pytest.fixture(scope="session")
def sequence_video(tmp_path_factory, genki_faces):
    """A 640x480 mp4 of 90 frames: one neutral face drifting right, then the smiling one."""
    import cv2
    from sequences import FPS, H, W, canvas

    path = tmp_path_factory.mktemp("video") / "seq.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for i in range(90):
        face = genki_faces["neutral"][0] if i < 30 else genki_faces["smile"][0]
        writer.write(canvas([(face, 150 + 2 * i, 100)]))
    writer.release()
    return path


@pytest.fixture(scope="session")
def long_video(tmp_path_factory, genki_faces):
    """A 640x480 mp4 of 600 frames (20 s at 30 fps) with one drifting face: long enough that a
    test can interrupt it mid-run even when the process starts slowly on a loaded machine."""
    import cv2
    from sequences import FPS, H, W, canvas

    path = tmp_path_factory.mktemp("video") / "long.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for i in range(600):
        writer.write(canvas([(genki_faces["smile"][0], 150 + (i % 200), 100)]))
    writer.release()
    return path
