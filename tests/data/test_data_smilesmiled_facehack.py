"""SMILEsmileD and FaceHack loaders: documented counts, image formats, and malformed inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from grinlab.data import load_facehack, load_smilesmiled
from grinlab.errors import GrinlabError


def test_smilesmiled_counts_and_grey_64x64(smilesmiled):
    assert smilesmiled.task == "smile"
    assert smilesmiled.counts() == {"no_smile": 8054, "smile": 3136}
    assert {img.shape for img in smilesmiled.images} == {(64, 64)}
    assert all(img.dtype == np.uint8 for img in smilesmiled.images[:100])
    assert "positives7" in smilesmiled.sources[smilesmiled.labels.tolist().index(1)]


def test_smilesmiled_wrong_folder(tmp_path):
    with pytest.raises(GrinlabError, match="not a SMILEsmileD folder; expected .*positives7"):
        load_smilesmiled(tmp_path)


def test_facehack_valence_counts_and_bgr_crops(facehack):
    assert facehack.classes == ("no_smile", "positive_smile", "negative_smile")
    assert facehack.counts() == {"no_smile": 3356, "positive_smile": 988, "negative_smile": 487}
    assert all(img.ndim == 3 and img.shape[2] == 3 for img in facehack.images[:50])


def test_facehack_smile_task_merges_smiles(facehack_dir):
    ds = load_facehack(facehack_dir, task="smile")
    assert ds.counts() == {"no_smile": 3356, "smile": 988 + 487}


@pytest.fixture
def small_facehack(tmp_path, facehack_dir):
    """A FaceHack-layout copy with the first 5 rows of the real train.csv."""
    rows = (facehack_dir / "train.csv").read_text().splitlines()[:5]
    (tmp_path / "images").mkdir()
    for row in rows:
        image_id = row.split(",")[0]
        shutil.copy(facehack_dir / "images" / f"{image_id}.jpg", tmp_path / "images")
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    return tmp_path, rows


def test_facehack_bad_rows_name_file_and_row(small_facehack):
    root, rows = small_facehack
    assert len(load_facehack(root)) == 5
    (root / "train.csv").write_text("\n".join([*rows[:2], rows[2].split(",")[0] + ",big smile"]) + "\n")
    with pytest.raises(GrinlabError, match=r"train.csv row 3: unknown label 'big smile'"):
        load_facehack(root)
    (root / "train.csv").write_text("\n".join([*rows, "no-such-id,NOT smile"]) + "\n")
    with pytest.raises(GrinlabError, match=r"train.csv row 6: image .*no-such-id.jpg not found"):
        load_facehack(root)
    first = rows[0].split(",")[0]
    (root / "images" / f"{first}.jpg").write_bytes(b"")
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(GrinlabError, match=r"train.csv row 1: .*cannot read it as an image"):
        load_facehack(root)
    with pytest.raises(GrinlabError, match="supports tasks"):
        load_facehack(root, task="emotion7")
    with pytest.raises(GrinlabError, match="not a FaceHack folder"):
        load_facehack(root / "images")


def test_facehack_smile_polarity_keeps_only_smiles(facehack_dir):
    ds = load_facehack(facehack_dir, task="smile_polarity")
    assert ds.classes == ("positive_smile", "negative_smile")
    assert ds.counts() == {"positive_smile": 988, "negative_smile": 487}
    assert ds.skipped == {"not_in_task": 3356}


def test_facehack_tasks_share_one_split(facehack_dir):
    """A cascade's stages (smile, smile_polarity) and a 3-class valence model validate on the same
    images and never train on another task's val images."""
    from grinlab.data import load_splits

    splits = {t: load_splits(facehack_dir, task=t) for t in ("valence", "smile", "smile_polarity")}
    val = {t: set(s["val"].sources) for t, s in splits.items()}
    train = {t: set(s["train"].sources) for t, s in splits.items()}
    assert val["smile"] == val["valence"]
    assert val["smile_polarity"] < val["valence"]
    assert all(not (train[a] & val[b]) for a in train for b in val)
    assert splits["valence"]["val"].counts() == {"no_smile": 503, "positive_smile": 148, "negative_smile": 73}
    assert splits["smile_polarity"]["val"].counts() == {"positive_smile": 148, "negative_smile": 73}
