"""Training on several datasets of one task: splits are concatenated, mismatched classes refused."""

from __future__ import annotations

import numpy as np
import pytest

from grinlab.data import FaceDataset, concat_datasets
from grinlab.errors import GrinlabError
from grinlab.train.config import TrainConfig
from grinlab.train.loaders import load_training_splits


def test_smilesmiled_plus_facehack_smile(smilesmiled_dir, facehack_dir):
    config = TrainConfig(
        model="simple_cnn", task="smile", data=str(smilesmiled_dir), extra_data=(str(facehack_dir),)
    )
    splits = load_training_splits(config)
    assert set(splits) == {"train", "val"}
    total = sum(len(s) for s in splits.values())
    assert total == 3136 + 8054 + 4831
    assert splits["train"].counts()["smile"] + splits["val"].counts()["smile"] == 3136 + 487 + 988
    assert any("facehack" in s for s in splits["val"].sources) and any(
        "SMILEs" in s for s in splits["val"].sources
    )


def test_mismatched_classes_refused():
    a = FaceDataset("a", "smile", ("no_smile", "smile"), [np.zeros((4, 4), np.uint8)], [0], ["a0"])
    b = FaceDataset(
        "b",
        "valence",
        ("no_smile", "positive_smile", "negative_smile"),
        [np.zeros((4, 4), np.uint8)],
        [2],
        ["b0"],
    )
    with pytest.raises(GrinlabError, match="class lists differ"):
        concat_datasets([a, b])
    both = concat_datasets([a, a])
    assert len(both) == 2 and both.name == "a+a"
