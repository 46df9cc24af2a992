"""The decision rule (grinlab.classify.decision) on real SMILEsmileD faces: argmax without a rule,
a threshold that changes labels exactly where P(smile) crosses it, and the runtime (`grinlab
analyze`), `grinlab evaluate` and the rule function agreeing on the same faces."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest

from grinlab.classify import DecisionRule, OnnxClassifier, decide, load_classifier
from grinlab.classify.intensity import smile_intensity
from grinlab.cli import main
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard
from grinlab.results import FaceBox, FaceResult, FrameResult, Prediction
from grinlab.shipped import resolve_model
from grinlab.track import FaceTracker

FOLDERS = {"smile": "positives/positives7", "no_smile": "negatives/negatives7"}


@pytest.fixture(scope="module")
def faces(smilesmiled_dir, tmp_path_factory):
    """A class folder of 30 real smiles and 30 real non-smiles."""
    root = tmp_path_factory.mktemp("faces")
    for c, sub in FOLDERS.items():
        (root / c).mkdir()
        for p in sorted((smilesmiled_dir / "SMILEs" / sub).glob("*.jpg"))[:30]:
            shutil.copy(p, root / c / p.name)
    return root


def _model(tmp_path, decision: dict):
    """A copy of the shipped smile model whose card carries ``decision``."""
    src = resolve_model("smile")
    out = tmp_path / "m" / "smile_t.onnx"
    out.parent.mkdir(exist_ok=True)
    shutil.copy(src, out)
    card = replace(ModelCard.load(src.with_suffix(".json")), decision=decision, name="smile_t")
    card.save(out.with_suffix(".json"))
    return out


@pytest.fixture(scope="module")
def probs(faces):
    clf = OnnxClassifier(resolve_model("smile"))
    paths = sorted(faces.rglob("*.jpg"))
    return paths, clf.predict_proba([cv2.imread(str(p)) for p in paths])


def _threshold_between(p_smile: np.ndarray) -> float:
    """A threshold below 0.5 in the widest gap between the faces' P(smile), so that some labels
    change and no face sits on it."""
    s = np.sort(p_smile[(p_smile > 0.05) & (p_smile < 0.5)])
    i = int(np.argmax(np.diff(s)))
    return float((s[i] + s[i + 1]) / 2)


def test_a_card_without_rule_is_argmax(probs, tmp_path):
    _, p = probs
    clf = OnnxClassifier(_model(tmp_path, {}))
    assert clf.decision.kind == "argmax" and clf.decision.to_card() == {}
    assert np.array_equal(decide(p, clf), p.argmax(1)) and np.array_equal(decide(p, None), p.argmax(1))
    assert np.array_equal(clf.decision.adjusted(p), p)


def test_threshold_changes_labels_exactly_where_p_crosses_it(probs):
    _, p = probs
    labels = ("no_smile", "smile")
    t = _threshold_between(p[:, 1])
    rule = DecisionRule(labels, "threshold", label="smile", threshold=t)
    got = rule.decide(p)
    assert np.array_equal(got, (p[:, 1] >= t).astype(int))
    changed = got != p.argmax(1)
    assert changed.any()  # real faces between t and 0.5 ...
    assert np.array_equal(changed, (p[:, 1] >= t) & (p[:, 1] < 0.5))  # ... and only those
    # the same rule written as class weights (prior correction) decides the same
    weights = DecisionRule(labels, "class_weights", weights=(t, 1 - t))
    assert np.array_equal(weights.decide(p), got)


def test_intensity_puts_the_threshold_at_one_half(probs):
    _, p = probs
    t = 0.3
    rule = DecisionRule(("no_smile", "smile"), "threshold", label="smile", threshold=t)
    grid = np.linspace(0, 1, 101)
    adj = rule.adjusted(np.stack([1 - grid, grid], 1))[:, 1]
    assert np.all(np.diff(adj) > 0) and adj[0] == 0 and adj[-1] == 1  # monotone, ends kept
    assert rule.adjusted(np.array([1 - t, t]))[1] == 0.5
    for row in p:  # on real faces: intensity >= 0.5 exactly when the rule says smile
        preds = {"s": Prediction("s", "smile", "", 0.0, {"no_smile": float(row[0]), "smile": float(row[1])})}
        intensity = smile_intensity(preds, {"s": rule})
        assert (intensity >= 0.5) == bool(rule.decide(row) == 1)


def test_runtime_evaluate_and_rule_agree(faces, probs, tmp_path, capsys):
    paths, p = probs
    t = _threshold_between(p[:, 1])
    model = _model(tmp_path, {"kind": "threshold", "label": "smile", "threshold": t})
    rule = load_classifier(model).decision
    expected = {str(path): ("no_smile", "smile")[int(k)] for path, k in zip(paths, rule.decide(p))}
    assert sum(v != ("no_smile", "smile")[int(a)] for v, a in zip(expected.values(), p.argmax(1))) > 0

    out = tmp_path / "analyze"
    assert main(["analyze", str(faces), "--crops", "--models", str(model), "--out", str(out),
                 "--no-annotate"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == len(paths)
    for row in rows:
        face = row["faces"][0]
        pred = face["predictions"]["smile_t"]
        assert pred["label"] == expected[row["source"]]
        probs_row = np.array([pred["probabilities"]["no_smile"], pred["probabilities"]["smile"]])
        assert pred["label"] == ("no_smile", "smile")[int(decide(probs_row, rule))]
        assert (face["smile_intensity"] >= 0.5) == (pred["label"] == "smile")

    capsys.readouterr()
    rep = tmp_path / "report"
    assert main(["evaluate", "--model", str(model), "--data", str(faces), "--split", "all", "--out", str(rep),
                 "--no-mistakes", "--no-occlusion", "--no-tta"]) == 0  # fmt: skip
    s = json.loads(capsys.readouterr().out)
    assert s["decision"] == f"smile when P(smile) >= {t:g}"
    truth = {str(path): path.parent.name for path in paths}
    for c in ("smile", "no_smile"):
        mine = [expected[k] == c for k in expected if truth[k] == c]
        assert s["recall"][c] == pytest.approx(sum(mine) / len(mine))


def test_flip_tta_has_its_own_rule(faces, tmp_path):
    """TTA shifts the probabilities, so a card may carry a second rule for that mode."""
    from grinlab.pipeline import Analyzer

    plain = {"kind": "threshold", "label": "smile", "threshold": 0.99}
    model = _model(
        tmp_path, {**plain, "flip_tta": {"kind": "threshold", "label": "smile", "threshold": 0.01}}
    )
    clf = OnnxClassifier(model)
    assert clf.decision.threshold == 0.99 and clf.flip_tta_decision.threshold == 0.01
    images = [cv2.imread(str(p)) for p in sorted(faces.rglob("*.jpg"))[::6]]
    for tta, rule in ((False, clf.decision), (True, clf.flip_tta_decision)):
        with Analyzer(models=(str(model),), faces_are_crops=True, flip_tta=tta) as a:
            for img in images:
                p = a.analyze(img).faces[0].predictions["smile_t"]
                probs = np.array([p.probabilities["no_smile"], p.probabilities["smile"]])
                assert p.label == ("no_smile", "smile")[int(decide(probs, clf, flip_tta=tta))]
                assert p.label == ("no_smile", "smile")[int(rule.decide(probs))]
    # grinlab evaluate reports its flip-TTA figures by the TTA rule, the plain ones by the plain rule
    rep = tmp_path / "report"
    assert main(["evaluate", "--model", str(model), "--data", str(faces), "--split", "all", "--out", str(rep),
                 "--no-mistakes", "--no-occlusion"]) == 0  # fmt: skip
    summary = json.loads((rep / "summary.json").read_text())
    assert summary["decision"] == "smile when P(smile) >= 0.99"
    assert summary["flip_tta"]["decision"] == "smile when P(smile) >= 0.01"
    # without a flip_tta entry, TTA uses the plain rule
    assert OnnxClassifier(_model(tmp_path, plain)).flip_tta_decision.threshold == 0.99


def test_tracker_shows_the_rule_label():
    rule = DecisionRule(("no_smile", "smile"), "threshold", label="smile", threshold=0.3)
    pred = Prediction("smile", "smile", "no_smile", 0.6, {"no_smile": 0.6, "smile": 0.4})
    frame = FrameResult("x", 0, 100, 100, (FaceResult(0, FaceBox(10, 10, 50, 50), {"smile": pred}),), 0.0)
    assert FaceTracker(smoothing_ms=0).update(frame).faces[0].label("smile") == "no_smile"
    shown = FaceTracker(smoothing_ms=0).update(frame, {"smile": rule}).faces[0]
    assert shown.label("smile") == "smile" and shown.predictions["smile"].probabilities["smile"] == 0.4


@pytest.mark.parametrize(
    "decision, match",
    [
        ({"kind": "threshold", "label": "smile", "threshold": 1.5}, "between 0 and 1"),
        ({"kind": "threshold", "label": "happy", "threshold": 0.4}, "not one of"),
        ({"kind": "class_weights", "weights": {"smile": 2.0}}, "every label"),
        ({"kind": "class_weights", "weights": {"smile": 2.0, "no_smile": -1}}, "positive"),
        ({"kind": "median"}, "kind must be one of"),
    ],
)
def test_a_bad_rule_fails_when_the_model_loads(tmp_path, decision, match):
    with pytest.raises(GrinlabError, match=match) as err:
        OnnxClassifier(_model(tmp_path, decision))
    assert "smile_t" in str(err.value) and "\n" not in str(err.value)
