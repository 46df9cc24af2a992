"""load_dataset / load_splits: format auto-detection, split rules, misuse."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from grinlab.data import DATASET_FORMATS, detect_format, load_dataset, load_splits
from grinlab.errors import GrinlabError


def test_formats_are_detected(data_dir, fer2013_csv):
    assert set(DATASET_FORMATS) == {"fer2013", "image_folder", "smilesmiled", "genki4k", "facehack"}
    assert detect_format(fer2013_csv) == "fer2013"
    assert detect_format(fer2013_csv.parent) == "fer2013"
    assert detect_format(data_dir / "smilesmiled") == "smilesmiled"
    assert detect_format(data_dir / "genki4k") == "genki4k"
    assert detect_format(data_dir / "facehack") == "facehack"
    assert detect_format(data_dir / "test-photos") == "image_folder"


def test_fer2013_splits_from_usage(fer2013_all, fer2013_csv):
    splits = load_splits(fer2013_csv.parent, task="happy_neutral")
    assert list(splits) == ["train", "val", "test"]
    assert [s.split for s in splits.values()] == ["train", "val", "test"]
    assert load_dataset(fer2013_csv, usage="PrivateTest").task == "emotion7"


def test_smilesmiled_gets_a_seeded_stratified_split(smilesmiled_dir, smilesmiled):
    splits = load_splits(smilesmiled_dir, val_fraction=0.2, seed=3)
    assert list(splits) == ["train", "val"]
    assert splits["val"].counts() == {"no_smile": round(0.2 * 8054), "smile": round(0.2 * 3136)}
    assert not set(splits["train"].sources) & set(splits["val"].sources)
    again = load_splits(smilesmiled_dir, val_fraction=0.2, seed=3)
    assert again["val"].sources == splits["val"].sources


def test_image_folder_splits_carve_val_from_train(tmp_path, smilesmiled_dir):
    pos = sorted((smilesmiled_dir / "SMILEs/positives/positives7").glob("*.jpg"))
    neg = sorted((smilesmiled_dir / "SMILEs/negatives/negatives7").glob("*.jpg"))
    for split, files in {"train": (pos[:10], neg[:10]), "test": (pos[10:13], neg[10:12])}.items():
        for cls, group in zip(("smiling", "neutral"), files, strict=True):
            (tmp_path / split / cls).mkdir(parents=True)
            for p in group:
                shutil.copy(p, tmp_path / split / cls)
    splits = load_splits(tmp_path, task="smile", val_fraction=0.2)
    assert {k: len(v) for k, v in splits.items()} == {"train": 16, "val": 4, "test": 5}
    assert [s.split for s in splits.values()] == ["train", "val", "test"]
    (tmp_path / "val" / "neutral").mkdir(parents=True)
    shutil.copy(neg[20], tmp_path / "val" / "neutral")
    custom = load_splits(tmp_path)  # no task: one class list shared by every split
    assert custom["val"].classes == custom["train"].classes == ("neutral", "smiling")
    assert {k: len(v) for k, v in custom.items()} == {"train": 20, "val": 1, "test": 5}


def test_registry_misuse(tmp_path, smilesmiled_dir, fer2013_csv):
    with pytest.raises(GrinlabError, match="dataset .*nowhere not found; expected a FER2013"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(GrinlabError, match="unknown dataset format 'kaggle'"):
        load_dataset(smilesmiled_dir, fmt="kaggle")
    with pytest.raises(GrinlabError, match="smile / no_smile labels only"):
        load_dataset(smilesmiled_dir, task="emotion7")
    with pytest.raises(GrinlabError, match="does not take option.*usage"):
        load_dataset(smilesmiled_dir, usage="Training")
    other = tmp_path / "scores.csv"
    other.write_text("id,score\n1,2\n")
    with pytest.raises(GrinlabError, match="a FER2013 csv starts with 'emotion,pixels,Usage'"):
        load_dataset(other)
    with pytest.raises(GrinlabError, match="not found; expected a genki4k dataset"):
        load_dataset(tmp_path / "nowhere", fmt="genki4k")


def test_loaders_do_not_import_torch():
    code = (
        "import sys, grinlab.data, grinlab.data.genki4k; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
