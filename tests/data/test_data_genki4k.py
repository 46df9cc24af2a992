"""GENKI-4K loader: labels.txt parsing, held-out lines, and face crops made by the runtime
detector + aligner (grinlab.detect / grinlab.align)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from grinlab.data import load_genki4k
from grinlab.data.genki4k import read_genki_labels
from grinlab.errors import GrinlabError
from grinlab.results import FaceBox


def test_labels_file_matches_documented_counts(genki_dir):
    entries = read_genki_labels(genki_dir)
    assert len(entries) == 4000 and entries[0] == (1, 1)
    labels = [label for _, label in entries if label is not None]
    assert len(labels) == 3400 and labels.count(1) == 1838 and labels.count(0) == 1562
    assert all(
        (genki_dir / "files" / f"file{n:04d}.jpg").is_file() for n, label in entries if label is not None
    )


@pytest.fixture
def small_genki(tmp_path, genki_dir):
    """A GENKI layout with lines 1-3 of the real labels, a held-out line and a line without its file."""
    real = (genki_dir / "labels.txt").read_text().splitlines()
    (tmp_path / "files").mkdir()
    for n, real_n in ((1, 1), (2, 2), (3, 4)):  # real file0003 is held out
        shutil.copy(genki_dir / "files" / f"file{real_n:04d}.jpg", tmp_path / "files" / f"file{n:04d}.jpg")
    (tmp_path / "labels.txt").write_text("\n".join([real[0], real[1], real[3], "", "0 0.1 0.2 0.3"]) + "\n")
    return tmp_path


class _EveryOtherPhoto:
    """A stand-in detector: two faces on odd calls (the larger must be cropped), none on even ones."""

    def __init__(self):
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        if self.calls % 2 == 0:
            return []
        return [FaceBox(0, 0, 20, 20), FaceBox(10, 10, 100, 120)]


def test_skips_held_out_missing_and_faceless_photos(small_genki):
    pytest.importorskip("grinlab.align", reason="grinlab.align (crop_face) is not written yet")
    ds = load_genki4k(small_genki, detector=_EveryOtherPhoto(), crop_size=64)
    assert ds.skipped == {"held_out": 1, "missing_file": 1, "no_face": 1}
    assert len(ds) == 2 and ds.sources[0].endswith("file0001.jpg") and ds.sources[1].endswith("file0003.jpg")
    assert {img.shape for img in ds.images} == {(64, 64, 3)}


def test_labels_misuse(small_genki, tmp_path):
    (small_genki / "labels.txt").write_text("1 0 0 0\nyes 0 0 0\n")
    with pytest.raises(GrinlabError, match=r"labels.txt line 2: smile label is 'yes', expected 1"):
        load_genki4k(small_genki, detector=_EveryOtherPhoto())
    with pytest.raises(GrinlabError, match="not a GENKI-4K folder"):
        load_genki4k(tmp_path / "files")


@pytest.mark.slow
@pytest.mark.parametrize("detector", ["haar", "yunet"])
def test_real_photos_are_cropped_with_the_runtime_detector(genki_dir, yunet_path, detector):
    pytest.importorskip("grinlab.align", reason="grinlab.align (crop_face) is not written yet")
    detect = pytest.importorskip("grinlab.detect")
    if not hasattr(detect, "create_detector"):
        pytest.skip("grinlab.detect.create_detector is not written yet")
    options = {"model_path": str(yunet_path)} if detector == "yunet" else {}
    ds = load_genki4k(genki_dir, detector=detector, detector_options=options, crop_size=96)
    assert ds.skipped["held_out"] == 600 and "missing_file" not in ds.skipped
    assert len(ds) + ds.skipped.get("no_face", 0) == 3400
    assert ds.skipped.get("no_face", 0) < 3400 * 0.1
    assert {img.shape for img in ds.images} == {(96, 96, 3)}
    assert ds.labels.dtype == np.int64 and set(ds.labels.tolist()) == {0, 1}
