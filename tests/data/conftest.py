"""Fixtures for the dataset-loader tests: real datasets loaded once per session, and a writer of
small FER2013-format csv files for misuse cases (rows from ``fer_rows.fer_row``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from grinlab.data import load_facehack, load_fer2013, load_smilesmiled


@pytest.fixture(scope="session")
def fer2013_all(fer2013_csv):
    """All FER2013 rows, blanks kept. The first run parses the 300 MB csv (~10 s) and fills the
    dataset cache; later sessions read the cache."""
    return load_fer2013(fer2013_csv, skip_blank=False)


@pytest.fixture(scope="session")
def smilesmiled(smilesmiled_dir):
    return load_smilesmiled(smilesmiled_dir)


@pytest.fixture(scope="session")
def facehack(facehack_dir):
    return load_facehack(facehack_dir)


@pytest.fixture
def write_fer_csv(tmp_path):
    """write_fer_csv(rows, header=..., name=...) -> path of a small fer2013-format csv (.gz by suffix)."""

    def write(rows: list[str], header: str = "emotion,pixels,Usage", name: str = "fer2013.csv") -> Path:
        path = tmp_path / name
        text = "\n".join([header, *rows]) + "\n"
        if name.endswith(".gz"):
            with gzip.open(path, "wt") as f:
                f.write(text)
        else:
            path.write_text(text)
        return path

    return write


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch) -> Path:
    """A private, empty dataset cache folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRINLAB_CACHE", str(cache))
    return cache
