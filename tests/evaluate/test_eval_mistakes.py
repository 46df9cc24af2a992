"""Mistake folders and grid on real SMILEsmileD crops with chosen probabilities."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grinlab.evaluate.mistakes import _stem, export_mistakes, mistakes_grid

CLASSES = ("no_smile", "smile")


@pytest.fixture(scope="module")
def crops(smilesmiled_dir):
    paths = sorted((smilesmiled_dir / "SMILEs" / "positives" / "positives7").glob("*.jpg"))[:6]
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths], [str(p) for p in paths]


def test_mistake_folders_rank_and_cap(crops, tmp_path):
    images, sources = crops
    y = np.array([1, 1, 1, 1, 0, 0])
    p_smile = np.array([0.2, 0.05, 0.4, 0.9, 0.7, 0.1])  # 3 smiles missed, 1 neutral called smile
    probs = np.stack([1 - p_smile, p_smile], 1)
    counts = export_mistakes(images, y, probs, CLASSES, sources, tmp_path / "mistakes", per_pair=2)
    assert counts == {"smile__as__no_smile": 3, "no_smile__as__smile": 1}
    missed = sorted(p.name for p in (tmp_path / "mistakes" / "smile__as__no_smile").iterdir())
    stem = lambda i: sources[i].rsplit("/", 1)[1][:-4]  # noqa: E731
    # capped at 2, most confident first: sample 1 (p 0.95), then sample 0 (p 0.80)
    assert missed == [f"000_p=0.95_{stem(1)}.png", f"001_p=0.80_{stem(0)}.png"]
    written = cv2.imread(str(tmp_path / "mistakes" / "smile__as__no_smile" / missed[0]), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(written, images[1])  # the sample as stored, not the network input
    grid = mistakes_grid(images, y, probs, CLASSES, tmp_path / "grid.png", tile=64)
    img = cv2.imread(str(grid))
    assert img.shape[1] == 4 * (64 + 4) and img.shape[0] > 64  # 4 mistakes: one row of labelled tiles


def test_no_mistakes_writes_no_grid(crops, tmp_path):
    images, sources = crops
    y = np.ones(6, int)
    probs = np.tile([0.1, 0.9], (6, 1))
    assert export_mistakes(images, y, probs, CLASSES, sources, tmp_path / "m") == {}
    assert mistakes_grid(images, y, probs, CLASSES, tmp_path / "grid.png") is None
    assert not (tmp_path / "grid.png").exists()


def test_source_stems_are_file_name_safe():
    assert _stem("/data/smilesmiled/SMILEs/positives/positives7/100.jpg") == "100"
    assert _stem("fer2013.csv:row 17") == "fer2013_row_17"
    assert _stem("C:/faces/a b.png") == "a_b"
