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
