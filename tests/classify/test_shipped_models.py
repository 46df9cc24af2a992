"""The models shipped in the package: listed with their labels, files that match their cards,
small enough to ship, and right on real faces through the default Analyzer."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from grinlab.classify import load_classifier
from grinlab.cli import main
from grinlab.modelcard import sha256_file
from grinlab.pipeline import Analyzer
from grinlab.shipped import DEFAULT_MODELS, resolve_model, shipped_models

EXPECTED = {
    "smile": ("no_smile", "smile"),
    "valence": ("no_smile", "positive_smile", "negative_smile"),
    "emotion7": ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
    "emotion8": ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"),
}


def test_models_json_lists_every_default_model(capsys):
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert set(DEFAULT_MODELS) <= set(listed)
    for name, labels in EXPECTED.items():
        m = listed[name]
        assert tuple(m["labels"]) == labels and m["task"] == name
        assert 0 < m["size_bytes"] <= 5_000_000  # the ceiling per shipped model
        # the train command(s), after how any distillation teacher was made
        assert "grinlab train --data" in m["command"], name
        assert m["metrics"], f"{name} ships without measured metrics"


def test_models_listing_names_the_data_behind_each_figure(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    # the smile figure pools two datasets' val splits; the listing must say so, with its size
    assert "val (smilesmiled+genki4k, n=" in out
    assert "test (fer2013, n=3589)" in out


def test_shipped_files_are_int8_measured_on_themselves():
    """Each shipped file is the int8 export: its card's metrics were measured on that file, and
    it records how often it agrees with the float model it came from."""
    for name, path in shipped_models().items():
        card = json.loads(path.with_suffix(".json").read_text())
        assert path.suffix == ".onnx" and card["architecture"].endswith("(int8)"), name
        assert card["metrics"]["int8"]["top1_agreement"] > 0.95, name
        assert "export: grinlab export" in card["command"] and "--int8" in card["command"], name


def test_card_checksums_match_the_files():
    for name, path in shipped_models().items():
        if path.suffix == ".onnx":
            card = json.loads(path.with_suffix(".json").read_text())
            assert card["sha256"] == sha256_file(path), name


@pytest.fixture(scope="module")
def default_analyzer(yunet_path):
    with Analyzer(detector="yunet", detector_options={"model_path": str(yunet_path)}) as a:
        yield a


def test_default_analyzer_reads_smiling_and_neutral_portraits(default_analyzer, photos_dir):
    assert default_analyzer.model_names == list(DEFAULT_MODELS)
    (obama,) = default_analyzer.analyze(cv2.imread(str(photos_dir / "white_house/obama.jpg"))).faces
    (biden,) = default_analyzer.analyze(cv2.imread(str(photos_dir / "white_house/biden.jpg"))).faces
    assert obama.label("smile") == "smile" and obama.label("valence") == "positive_smile"
    assert obama.label("emotion7") == "happy"
    assert biden.label("smile") == "no_smile" and biden.label("valence") == "no_smile"
    assert obama.smile_intensity > 0.5 > biden.smile_intensity


def test_emotion7_on_real_fer2013_validation_faces(fer2013_csv):
    from grinlab.data.fer2013 import load_fer2013

    ds = load_fer2013(fer2013_csv, usage="PublicTest")
    idx = np.random.default_rng(0).choice(len(ds), 600, replace=False)
    clf = load_classifier(resolve_model("emotion7"))
    probs = clf.predict_proba([ds.images[i] for i in idx])
    accuracy = float((probs.argmax(1) == ds.labels[idx]).mean())
    assert accuracy > 0.6  # 68.6% on the whole split (the card)


def test_emotion8_agrees_with_the_fer_plus_majority(fer2013_csv, ferplus_csv):
    from grinlab.data.fer2013 import load_fer2013

    ds = load_fer2013(
        fer2013_csv, usage="PublicTest", task="emotion8", ferplus=ferplus_csv, label_mode="majority"
    )
    idx = np.random.default_rng(0).choice(len(ds), 600, replace=False)
    clf = load_classifier(resolve_model("emotion8"))
    assert clf.labels == EXPECTED["emotion8"]
    probs = clf.predict_proba([ds.images[i] for i in idx])
    assert float((probs.argmax(1) == ds.labels[idx]).mean()) > 0.75  # 81.4% on the whole split (the card)
