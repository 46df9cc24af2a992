"""FER2013 loader: documented counts, FER+ relabelling, the cache, and malformed csv files."""

from __future__ import annotations

import logging
import lzma

import numpy as np
import pytest
from fer_rows import fer_row  # tests/data/fer_rows.py

from grinlab.data import fer2013_splits, load_fer2013
from grinlab.data.cache import cache_dir
from grinlab.errors import GrinlabError
from grinlab.labels import EMOTION7

# The README's table: usage -> counts in emotion7 order, before any blank image is dropped.
DOCUMENTED = {
    "Training": (3995, 436, 4097, 7215, 4830, 3171, 4965),
    "PublicTest": (467, 56, 496, 895, 653, 415, 607),
    "PrivateTest": (491, 55, 528, 879, 594, 416, 626),
}
# Zero-variance images per usage, measured on the shared file.
BLANKS = {"Training": 11, "PublicTest": 1, "PrivateTest": 0}


@pytest.mark.parametrize("usage", list(DOCUMENTED))
def test_documented_counts_per_usage(fer2013_all, fer2013_csv, usage):
    ds = load_fer2013(fer2013_csv, usage=usage, skip_blank=False)
    assert ds.counts() == dict(zip(EMOTION7, DOCUMENTED[usage], strict=True))
    assert len(ds) == sum(DOCUMENTED[usage])
    assert ds.split == {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}[usage]


@pytest.mark.parametrize("usage", list(BLANKS))
def test_blank_images_are_skipped_and_counted(fer2013_all, fer2013_csv, usage):
    ds = load_fer2013(fer2013_csv, usage=usage)
    assert ds.skipped.get("blank", 0) == BLANKS[usage]
    assert len(ds) + BLANKS[usage] == sum(DOCUMENTED[usage])
    assert all(img.std() > 0 for img in ds.images)


def test_rows_are_48x48_uint8_with_row_sources(fer2013_all):
    assert len(fer2013_all) == 35887
    first = fer2013_all.images[0]
    assert first.shape == (48, 48) and first.dtype == np.uint8
    assert first[0, :8].tolist() == [70, 80, 82, 72, 58, 58, 60, 63]  # the README's first row
    assert EMOTION7[fer2013_all.labels[0]] == "angry"
    assert fer2013_all.sources[0] == "fer2013.csv.xz:row 1"
    assert fer2013_all.sources[-1] == "fer2013.csv.xz:row 35887"


def test_happy_neutral_keeps_only_happy_and_neutral(fer2013_all, fer2013_csv):
    ds = load_fer2013(fer2013_csv, usage="Training", task="happy_neutral", skip_blank=False)
    assert ds.classes == ("no_smile", "smile")
    assert ds.counts() == {"no_smile": 4965, "smile": 7215}
    assert ds.skipped["not_in_task"] == 28709 - 4965 - 7215


def test_ferplus_majority_skips_dropped_and_approximate_rows(fer2013_all, fer2013_csv, ferplus_csv):
    ds = load_fer2013(fer2013_csv, ferplus=ferplus_csv, label_mode="majority")
    # 173 rows FER+ left out; the 2 other approximate rows (0-based 5274 and 33200); 5 rows without emotion7 votes
    assert ds.skipped == {"ferplus_dropped": 173, "approximate_row": 2, "ferplus_no_emotion7_votes": 5}
    assert len(ds) == 35887 - 180
    assert "fer2013.csv.xz:row 5275" not in ds.sources and "fer2013.csv.xz:row 33201" not in ds.sources
    assert ds.soft_labels is None
    # The README finds 62.6% agreement with the majority over all 8 FER+ emotions; without contempt
    # (no emotion7 class) and on the kept rows it is 64.4%, far above chance (17.8% shuffled).
    original = load_fer2013(fer2013_csv, ferplus=ferplus_csv, label_mode="original")
    assert original.sources == ds.sources
    assert np.mean(original.labels == ds.labels) == pytest.approx(0.644, abs=0.005)


@pytest.mark.parametrize("task,n_classes", [("emotion7", 7), ("happy_neutral", 2)])
def test_ferplus_soft_labels_are_vote_distributions(fer2013_all, fer2013_csv, ferplus_csv, task, n_classes):
    ds = load_fer2013(fer2013_csv, usage="PublicTest", task=task, ferplus=ferplus_csv, label_mode="soft")
    assert ds.soft_labels.shape == (len(ds), n_classes)
    assert np.allclose(ds.soft_labels.sum(axis=1), 1.0)
    assert (ds.soft_labels.argmax(axis=1) == ds.labels).mean() > 0.99  # ties may resolve differently


def test_blend_keeps_fer2013s_labels_and_rows_and_adds_the_votes(fer2013_all, fer2013_csv, ferplus_csv):
    """emotion7 trained on FER2013's labels with the annotators' doubt beside them: the splits are
    FER2013's own (3,589 PrivateTest faces, not FER+'s 3,572), so its accuracy stays comparable."""
    plain = load_fer2013(fer2013_csv, usage="PrivateTest")
    ds = load_fer2013(
        fer2013_csv, usage="PrivateTest", ferplus=ferplus_csv, label_mode="blend", ferplus_weight=0.25
    )
    assert ds.sources == plain.sources and np.array_equal(ds.labels, plain.labels) and len(ds) == 3589
    assert ds.soft_labels.shape == (3589, 7) and np.allclose(ds.soft_labels.sum(axis=1), 1.0)
    votes = load_fer2013(fer2013_csv, usage="PrivateTest", ferplus=ferplus_csv, label_mode="soft")
    at = [ds.sources.index(src) for src in votes.sources]
    one_hot = np.eye(7, dtype=np.float32)[ds.labels[at]]
    assert np.allclose(ds.soft_labels[at], 0.25 * votes.soft_labels + 0.75 * one_hot)
    alone = np.setdiff1d(np.arange(len(ds)), at)  # rows FER+ dropped or without emotion7 votes
    assert len(alone) == 3589 - 3572
    assert np.array_equal(ds.soft_labels[alone], np.eye(7, dtype=np.float32)[ds.labels[alone]])
    with pytest.raises(GrinlabError, match="ferplus_weight must be in"):
        load_fer2013(fer2013_csv, ferplus=ferplus_csv, label_mode="blend", ferplus_weight=0)
    with pytest.raises(GrinlabError, match="emotion8 .* label_mode majority or soft"):
        load_fer2013(fer2013_csv, task="emotion8", ferplus=ferplus_csv, label_mode="blend")


def test_emotion8_learns_contempt_from_the_votes(fer2013_all, fer2013_csv, ferplus_csv):
    ds = load_fer2013(
        fer2013_csv, usage="PrivateTest", task="emotion8", ferplus=ferplus_csv, label_mode="soft"
    )
    assert ds.classes == (*EMOTION7, "contempt")
    # the 3,572 PrivateTest faces the FER+ majority figures are measured on (emotion7 keeps the same)
    seven = load_fer2013(fer2013_csv, usage="PrivateTest", ferplus=ferplus_csv, label_mode="majority")
    assert len(ds) == len(seven) == 3572 and ds.sources == seven.sources
    assert ds.soft_labels.shape == (3572, 8) and np.allclose(ds.soft_labels.sum(axis=1), 1.0)
    assert ds.counts()["contempt"] == 29
    # where nobody voted contempt, the emotion8 majority is the emotion7 one
    no_contempt = ds.soft_labels[:, 7] == 0
    assert np.array_equal(ds.labels[no_contempt], seven.labels[no_contempt])
    with pytest.raises(GrinlabError, match="emotion8 .* FER\\+ votes"):
        load_fer2013(fer2013_csv, usage="PrivateTest", task="emotion8")


def test_splits_follow_usage(fer2013_all, fer2013_csv):
    splits = fer2013_splits(fer2013_csv, task="happy_neutral")
    assert {k: v.split for k, v in splits.items()} == {"train": "train", "val": "val", "test": "test"}
    assert len(splits["test"]) == 879 + 626


def test_full_file_is_cached(fer2013_all, fer2013_csv):
    assert any(cache_dir().glob("fer2013-*.npz"))


def test_gz_csv_and_corrupt_cache_rebuild(write_fer_csv, tmp_cache, caplog):
    path = write_fer_csv(
        [fer_row(3), fer_row(6, "PublicTest", seed=1), fer_row(0, pixels=" ".join(["7"] * 2304))],
        name="fer2013.csv.gz",
    )
    ds = load_fer2013(path)
    assert ds.counts()["happy"] == 1 and ds.skipped == {"blank": 1}
    (entry,) = tmp_cache.glob("fer2013-*.npz")
    entry.write_bytes(b"not a zip file")
    with caplog.at_level(logging.WARNING):
        again = load_fer2013(path)
    assert "corrupt dataset cache" in caplog.text
    assert [im.tolist() for im in again.images] == [im.tolist() for im in ds.images]
    assert np.load(entry)["pixels"].shape == (3, 48, 48)  # rewritten


@pytest.mark.parametrize(
    "header,rows,match",
    [
        ("emotion,pixels", [fer_row()], r"header is 'emotion,pixels', expected 'emotion,pixels,Usage'"),
        (
            None,
            [fer_row(), fer_row(pixels=" ".join(["1"] * 2303))],
            r"row 2: pixels has 2303 values, expected 2304",
        ),
        (None, [fer_row(pixels="1.5 " + " ".join(["1"] * 2303))], r"row 1: pixels has '1.5'"),
        (None, [fer_row(pixels="256 " + " ".join(["1"] * 2303))], r"row 1: pixel value 256 is out of range"),
        (None, [fer_row(), fer_row(9)], r"row 2: emotion is '9', expected 0..6"),
        (None, [fer_row(usage="Test")], r"row 1: Usage is 'Test'"),
        (None, ["3,1 2 3"], r"row 1: has 2 comma-separated fields"),
        (None, [], r"no data rows"),
    ],
)
def test_malformed_csv_names_file_and_row(write_fer_csv, tmp_cache, header, rows, match):
    path = write_fer_csv(rows, **({"header": header} if header else {}))
    with pytest.raises(GrinlabError, match=match) as err:
        load_fer2013(path)
    assert str(path) in str(err.value)


def test_misuse_of_options(write_fer_csv, tmp_cache, tmp_path):
    path = write_fer_csv([fer_row()])
    with pytest.raises(GrinlabError, match="not found"):
        load_fer2013(tmp_path / "missing.csv")
    with pytest.raises(GrinlabError, match="needs the FER\\+ votes"):
        load_fer2013(path, label_mode="soft")
    with pytest.raises(GrinlabError, match="usage must be one of"):
        load_fer2013(path, usage="Validation")
    with pytest.raises(GrinlabError, match="cannot be mapped to task 'valence'"):
        load_fer2013(path, task="valence")
    bad_ferplus = tmp_path / "fer2013new.csv"
    bad_ferplus.write_text("Usage,Image name,neutral\n")
    with pytest.raises(GrinlabError, match="fer2013new.csv: header is"):
        load_fer2013(path, ferplus=bad_ferplus, label_mode="majority")
    bad_ferplus.write_text(
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    )
    with pytest.raises(GrinlabError, match="has 0 rows but the fer2013 csv has 1"):
        load_fer2013(path, ferplus=bad_ferplus, label_mode="majority")
    compressed = tmp_path / "fer2013.csv.xz"  # the images' csv handed over as the votes
    compressed.write_bytes(lzma.compress(path.read_bytes()))
    with pytest.raises(GrinlabError, match="fer2013.csv.xz: not a text csv"):
        load_fer2013(path, ferplus=compressed, label_mode="blend")
    for weight in ("abc", True, 0, 1.5):  # --data-option ferplus_weight=abc arrives as text
        with pytest.raises(GrinlabError, match="ferplus_weight must be in"):
            load_fer2013(path, ferplus=bad_ferplus, label_mode="blend", ferplus_weight=weight)
