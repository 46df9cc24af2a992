"""Two-stage cascade on real FaceHack crops: its probabilities are the documented products of the
two stages' outputs, sum to 1 in the card's label order, and the Analyzer and `grinlab models`
take a cascade like any other model. The stages here are real models: the shipped smile model as
the gate, and a copy of it relabelled as the branch (what the branch has learned does not matter
for the arithmetic under test)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from grinlab.classify import CascadeClassifier, OnnxClassifier, load_classifier
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard
from grinlab.pipeline import Analyzer
from grinlab.shipped import resolve_model


@pytest.fixture
def cascade_card(tmp_path) -> Path:
    smile = resolve_model("smile")
    shutil.copy(smile, tmp_path / "gate.onnx")
    shutil.copy(smile.with_suffix(".json"), tmp_path / "gate.json")
    shutil.copy(smile, tmp_path / "polarity.onnx")
    card = json.loads(smile.with_suffix(".json").read_text())
    card.update(name="polarity", task="smile_polarity", labels=["positive_smile", "negative_smile"])
    card.pop("decision", None)  # the smile card's rule names labels this card no longer has
    (tmp_path / "polarity.json").write_text(json.dumps(card))
    gate = ModelCard.load(tmp_path / "gate.json")
    cascade = ModelCard(
        name="valence_cascade", task="valence", labels=("no_smile", "positive_smile", "negative_smile"),
        preprocessing=gate.preprocessing, architecture="cascade",
        stages={"gate": "gate.onnx", "gate_label": "smile", "branch": "polarity.onnx"},
    )  # fmt: skip
    path = tmp_path / "valence_cascade.json"
    cascade.save(path)
    return path


@pytest.fixture(scope="module")
def faces(facehack_dir) -> list[np.ndarray]:
    ids = [line.split(",")[0] for line in (facehack_dir / "train.csv").read_text().splitlines()[:24]]
    return [cv2.imread(str(facehack_dir / "images" / f"{i}.jpg")) for i in ids]


def test_probabilities_are_products_of_the_stages(cascade_card, faces):
    clf = load_classifier(cascade_card)
    assert isinstance(clf, CascadeClassifier)
    assert clf.labels == ("no_smile", "positive_smile", "negative_smile")
    p = clf.predict_proba(faces)
    gate = OnnxClassifier(cascade_card.parent / "gate.onnx").predict_proba(faces)
    branch = OnnxClassifier(cascade_card.parent / "polarity.onnx").predict_proba(faces)
    np.testing.assert_allclose(p[:, 0], gate[:, 0], atol=1e-6)
    np.testing.assert_allclose(p[:, 1], gate[:, 1] * branch[:, 0], atol=1e-6)
    np.testing.assert_allclose(p[:, 2], gate[:, 1] * branch[:, 1], atol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # the same faces prepared at the card's input size give the same answer
    prepared = np.stack(
        [
            cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (48, 48), interpolation=cv2.INTER_AREA)
            for f in faces
        ]
    )
    np.testing.assert_allclose(clf.predict_prepared(prepared), p, atol=1e-5)


def test_card_label_order_is_respected(cascade_card, faces):
    card = json.loads(cascade_card.read_text())
    card["labels"] = ["negative_smile", "no_smile", "positive_smile"]
    cascade_card.write_text(json.dumps(card))
    reordered = load_classifier(cascade_card).predict_proba(faces)
    card["labels"] = ["no_smile", "positive_smile", "negative_smile"]
    cascade_card.write_text(json.dumps(card))
    plain = load_classifier(cascade_card).predict_proba(faces)
    np.testing.assert_allclose(reordered, plain[:, [2, 0, 1]], atol=1e-6)


def test_analyzer_runs_a_cascade_beside_a_single_model(cascade_card, photos_dir):
    image = cv2.imread(str(photos_dir / "astronaut.png"))
    with Analyzer(detector="haar", models=("smile", str(cascade_card))) as analyzer:
        result = analyzer.analyze(image)
    assert result.faces
    face = result.faces[0]
    assert set(face.predictions) == {"smile", "valence_cascade"}
    valence = face.predictions["valence_cascade"]
    assert valence.task == "valence"
    assert set(valence.probabilities) == {"no_smile", "positive_smile", "negative_smile"}
    assert valence.probabilities["no_smile"] == pytest.approx(
        face.predictions["smile"].probabilities["no_smile"], abs=1e-5
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"stages": {"gate": "gate.onnx", "branch": "polarity.onnx"}}, "missing gate_label"),
        ({"stages": {"gate": "gate.onnx", "gate_label": "grin", "branch": "polarity.onnx"}}, "not a label"),
        ({"stages": {"gate": "absent.onnx", "gate_label": "smile", "branch": "polarity.onnx"}}, "not found"),
        ({"labels": ["no_smile", "smile", "negative_smile"]}, "the stages give labels"),
    ],
)
def test_bad_cascade_cards_say_what_is_wrong(cascade_card, change, message):
    card = json.loads(cascade_card.read_text())
    card.update(change)
    cascade_card.write_text(json.dumps(card))
    with pytest.raises(GrinlabError, match=message):
        load_classifier(cascade_card)


def test_cascade_command_writes_a_measured_card(tmp_path, facehack_dir, capsys):
    from grinlab.cli import main

    smile = resolve_model("smile")
    stages = tmp_path / "stages"
    stages.mkdir()
    for name, labels in (("gate", None), ("polarity", ["positive_smile", "negative_smile"])):
        shutil.copy(smile, stages / f"{name}.onnx")
        card = json.loads(smile.with_suffix(".json").read_text())
        if labels:
            card.update(name=name, task="smile_polarity", labels=labels)
            card.pop("decision", None)  # a rule belongs to the labels it was chosen for
        (stages / f"{name}.json").write_text(json.dumps(card))
    out = tmp_path / "valence.json"
    args = ["cascade", "--gate", str(stages / "gate.onnx"), "--gate-label", "smile"]
    args += ["--branch", str(stages / "polarity.onnx"), "--out", str(out), "--data", str(facehack_dir)]
    assert main(args) == 0
    card = ModelCard.load(out)
    assert card.task == "valence" and card.labels == ("no_smile", "positive_smile", "negative_smile")
    assert card.stages == {
        "gate": "stages/gate.onnx",
        "gate_label": "smile",
        "branch": "stages/polarity.onnx",
    }
    assert card.metrics["val"]["n"] == 724 and 0 <= card.metrics["val"]["accuracy"] <= 1
    assert "grinlab cascade --gate" in card.command
    assert isinstance(load_classifier(out), CascadeClassifier)
    assert main(args) == 2  # exists: needs --force
    assert "pass --force" in capsys.readouterr().err
    nested = [
        "cascade",
        "--gate",
        str(out),
        "--gate-label",
        "smile",
        "--branch",
        str(stages / "polarity.onnx"),
    ]
    assert main([*nested, "--out", str(tmp_path / "nested.json")]) == 2
    assert "cascade cannot be a stage" in capsys.readouterr().err
    assert not (tmp_path / "nested.json").exists()
