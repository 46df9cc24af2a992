"""grinlab calibrate through grinlab.cli.main on a class folder of real SMILEsmileD faces (its
seeded val split) and on FaceHack's val split: one-line refusals, --write atomic and idempotent,
and the rule search itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from grinlab.classify import DecisionRule, OnnxClassifier
from grinlab.cli import main
from grinlab.evaluate.calibrate import Part, choose_rule, cross_validate, measure
from grinlab.modelcard import ModelCard
from grinlab.shipped import resolve_model

FOLDERS = {"smile": "positives/positives7", "no_smile": "negatives/negatives7"}


@pytest.fixture(scope="module")
def faces(smilesmiled_dir, tmp_path_factory):
    """60 real faces per class: a seeded val split of 9 each."""
    root = tmp_path_factory.mktemp("faces")
    for c, sub in FOLDERS.items():
        (root / c).mkdir()
        for p in sorted((smilesmiled_dir / "SMILEs" / sub).glob("*.jpg"))[:60]:
            shutil.copy(p, root / c / p.name)
    return root


@pytest.fixture
def model(tmp_path):
    """A copy of the shipped smile model with its card stripped of any rule."""
    src = resolve_model("smile")
    out = tmp_path / "m" / "smile.onnx"
    out.parent.mkdir()
    shutil.copy(src, out)
    card = ModelCard.load(src.with_suffix(".json"))
    metrics = {k: v for k, v in card.metrics.items() if k != "decision"}
    ModelCard.from_dict({**card.to_dict(), "decision": {}, "metrics": metrics}).save(out.with_suffix(".json"))
    return out


def _calibrate(capsys, *argv) -> tuple[int, str, str]:
    code = main(["calibrate", *argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--split", "test"], "val split only"),
        (["--objective", "auc"], "unknown objective 'auc'"),
        (["--constraint", "tight"], "unknown constraint"),
        (["--constraint", "min_accuracy=80"], "min_accuracy=X with X a fraction"),
    ],
)
def test_refusals_are_one_line(model, faces, capsys, extra, message):
    code, out, err = _calibrate(capsys, str(model), "--data", str(faces), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("grinlab calibrate: error: ") and message in err


def test_no_data_is_refused(model, capsys):
    code, _, err = _calibrate(capsys, str(model))
    assert code == 2 and "--data" in err and err.count("\n") == 1


def test_write_is_idempotent_and_records_how(model, faces, tmp_path, capsys):
    card_file = model.with_suffix(".json")
    before = json.loads(card_file.read_text())
    argv = [str(model), "--data", str(faces), "--objective", "balanced_accuracy", "--write",
            "--out", str(tmp_path / "cal.json")]  # fmt: skip
    code, out, _ = _calibrate(capsys, *argv)
    assert code == 0 and "argmax" in out and "2-fold CV" in out
    first = card_file.read_bytes()
    card = json.loads(first)
    rec = card["metrics"]["decision"]
    assert rec["chosen_on"]["split"] == "val" and rec["chosen_on"]["n"] == 18
    assert rec["objective"] == "balanced_accuracy" and "expected_cross_validated" in rec
    assert rec["command"].startswith("grinlab calibrate ")
    # only the rule and its record changed; the rest of the card is as it was
    assert {k: v for k, v in card.items() if k not in ("decision", "metrics")} == {
        k: v for k, v in before.items() if k not in ("decision", "metrics")
    }
    assert card["metrics"]["val"] == before["metrics"]["val"]
    results = json.loads((tmp_path / "cal.json").read_text())
    assert set(results) == {"smile", "smile (flip TTA)"}
    assert {k: v for k, v in card["decision"].items() if k != "flip_tta"} == results["smile"]["decision"]
    assert card["decision"].get("flip_tta", card["decision"]) == results["smile (flip TTA)"]["decision"]
    assert card["metrics"]["decision_flip_tta"]["probabilities"].startswith("flip TTA")
    assert "| all | argmax |" in (tmp_path / "cal.md").read_text()
    OnnxClassifier(model)  # the written card loads, rule included
    assert _calibrate(capsys, *argv)[0] == 0
    assert card_file.read_bytes() == first  # a second run writes the very same card
    assert not list(card_file.parent.glob("*.tmp"))


def test_write_is_atomic(model, faces, capsys, monkeypatch):
    card_file = model.with_suffix(".json")
    original = card_file.read_bytes()

    def interrupted(self, target):
        raise KeyboardInterrupt  # killed between writing the temporary file and renaming it

    monkeypatch.setattr(Path, "replace", interrupted)
    code, _, _ = _calibrate(capsys, str(model), "--data", str(faces), "--write")
    assert code == 130
    assert card_file.read_bytes() == original  # readers never see a half-written card


def test_valence_weights_on_facehack_val(facehack_dir):
    """On FaceHack val the shipped valence's rule is the one calibrate chooses there: the best
    macro-F1 that keeps the accuracy of the cascade it replaced (0.8025), where its argmax, which
    finds more negative smiles, falls short of that accuracy. The default constraint finds weights
    that raise macro-F1 without losing accuracy; the cross-validated estimate is reported beside."""
    from grinlab.classify import load_classifier
    from grinlab.evaluate.calibrate import val_parts

    clf = load_classifier(resolve_model("valence"))
    parts = val_parts(clf, [str(facehack_dir)])["plain"]
    labels = clf.labels
    before = measure(parts, DecisionRule(labels))
    floored = choose_rule(parts, labels, "macro_f1", "min_accuracy=0.8025")
    stored = DecisionRule.from_card(clf.card)  # what analyze, live, serve and evaluate apply
    assert floored.kind == stored.kind and np.allclose(
        floored.class_weights(), stored.class_weights(), atol=1e-6
    )
    got = measure(parts, floored)["all"]
    assert before["all"]["accuracy"] < 0.8025 <= got["accuracy"]
    assert got["recall"]["negative_smile"] > 0.3  # the cascade it replaced found 0.096 of them
    rule = choose_rule(parts, labels, "macro_f1")
    after = measure(parts, rule)
    assert rule.kind == "class_weights"
    assert after["all"]["accuracy"] >= before["all"]["accuracy"]
    assert after["all"]["macro_f1"] > before["all"]["macro_f1"]
    cv = cross_validate(parts, labels, "macro_f1", repeats=2)
    assert len(cv["rules"]) == 4 and 0 < cv["metrics"]["all"]["macro_f1"] <= 1
    # a floor at the model's own argmax accuracy is the default constraint by another name
    floor = f"min_accuracy={before['all']['accuracy'] - 1e-9!r}"
    assert choose_rule(parts, labels, "macro_f1", floor) == rule


def test_threshold_search_meets_the_constraint_per_dataset():
    """Synthetic but exact: the search never trades one dataset's accuracy for the pool's."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.15 + 0.4 * y + rng.normal(0, 0.15, 400), 0.001, 0.999)  # smiles centred at 0.55
    parts = [Part("a", y[:200], np.stack([1 - p[:200], p[:200]], 1)),
             Part("b", y[200:], np.stack([1 - p[200:], p[200:]], 1))]  # fmt: skip
    labels = ("no_smile", "smile")
    rule = choose_rule(parts, labels, "balanced_accuracy")
    base, got = measure(parts, DecisionRule(labels)), measure(parts, rule)
    assert rule.kind == "threshold" and rule.threshold < 0.5  # scores lean low: the threshold follows
    assert all(got[k]["accuracy"] >= base[k]["accuracy"] for k in ("a", "b"))
    assert got["all"]["balanced_accuracy"] >= base["all"]["balanced_accuracy"]


def test_an_accuracy_floor_lets_a_replacement_trade_its_objective_for_accuracy():
    """Synthetic but exact: a model whose argmax over-predicts the rare classes (high macro-F1,
    accuracy below the model it replaces) gets the rule with the best macro-F1 that keeps the
    floor; a floor no rule reaches leaves argmax."""
    rng = np.random.default_rng(0)
    y = rng.choice(3, 900, p=[0.7, 0.2, 0.1])
    logits = rng.normal(0, 1.0, (900, 3)) + 2.0 * np.eye(3)[y] + np.array([-0.8, 0.4, 0.4])
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    parts, labels = [Part("a", y, probs)], ("no_smile", "positive_smile", "negative_smile")
    base = measure(parts, DecisionRule(labels))["all"]
    floor = round(base["accuracy"] + 0.03, 3)
    rule = choose_rule(parts, labels, "macro_f1", f"min_accuracy={floor}")
    got = measure(parts, rule)["all"]
    assert rule.kind == "class_weights" and got["accuracy"] >= floor
    assert rule.class_weights()[1] < 1 and rule.class_weights()[2] < 1  # back towards the common class
    unconstrained = measure(parts, choose_rule(parts, labels, "macro_f1", "none"))["all"]
    assert got["macro_f1"] <= unconstrained["macro_f1"]
    assert choose_rule(parts, labels, "macro_f1", "min_accuracy=1.0") == DecisionRule(labels)
