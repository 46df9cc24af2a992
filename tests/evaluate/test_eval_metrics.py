"""Metrics against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grinlab.errors import GrinlabError
from grinlab.evaluate.metrics import (
    accuracy_interval,
    calibration,
    classification_summary,
    confusion_matrix,
    macro_f1,
)


def test_confusion_and_per_class():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 2, 2])
    assert confusion_matrix(y, p, 3).tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    probs = np.eye(3)[p] * 0.9 + 0.1 / 3
    s = classification_summary(y, probs, ("a", "b", "c"))
    assert s["accuracy"] == pytest.approx(4 / 6)
    # a: P 1, R 2/3 -> F1 0.8; b: P 1/2, R 1/2 -> 0.5; c: P 1/2, R 1 -> 2/3
    assert s["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert s["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s["recall"] == pytest.approx({"a": 2 / 3, "b": 0.5, "c": 1.0})


def test_accuracy_interval_is_wilsons_and_stays_inside_0_1():
    # 81 of 100: the Wilson 95% interval of the textbooks, 0.722-0.875
    assert accuracy_interval(81, 100) == pytest.approx((0.7222, 0.8749), abs=1e-4)
    lo, hi = accuracy_interval(510, 510)
    assert hi == pytest.approx(1.0) and 0.99 < lo < 1.0
    y = np.array([0, 1] * 50)
    s = classification_summary(y, np.eye(2)[y], ("a", "b"))
    assert s["accuracy"] == 1.0 and s["accuracy_interval_95"][1] == pytest.approx(1.0)


def test_macro_f1_ignores_absent_classes():
    assert macro_f1([0, 0, 1], [0, 0, 1], 5) == pytest.approx(1.0)


def test_ece():
    probs = np.array([[0.9, 0.1]] * 10)  # confidence 0.9
    y = np.array([0] * 6 + [1] * 4)  # accuracy 0.6
    cal = calibration(probs, y)
    assert cal["ece"] == pytest.approx(0.3)
    assert len(cal["bins"]) == 1 and cal["bins"][0]["n"] == 10
    perfect = calibration(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1]))
    assert perfect["ece"] == pytest.approx(0.0)


def test_log_loss_support_and_bins_by_hand():
    probs = np.array([[0.8, 0.2], [0.4, 0.6], [0.3, 0.7], [0.9, 0.1]])
    y = np.array([0, 0, 1, 1])
    s = classification_summary(y, probs, ("no_smile", "smile"))
    assert s["log_loss"] == pytest.approx(-(np.log(0.8) + np.log(0.4) + np.log(0.7) + np.log(0.1)) / 4)
    assert s["per_class"]["smile"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert s["confusion"] == [[1, 1], [1, 1]] and s["accuracy"] == 0.5
    json.dumps(s)  # JSON-ready as it is
    # confidences 0.8, 0.6, 0.7, 0.9 fall in 4 of the 15 equal-width bins, each with 1 sample
    bins = calibration(probs, y)["bins"]
    assert [b["n"] for b in bins] == [1, 1, 1, 1]
    assert [b["accuracy"] for b in bins] == [0.0, 1.0, 1.0, 0.0]  # 0.6 wrong, 0.7 right, 0.8 right, 0.9 wrong
    assert calibration(probs, y)["ece"] == pytest.approx((0.6 + 0.3 + 0.2 + 0.9) / 4)


def test_misuse_is_named():
    with pytest.raises(GrinlabError, match=r"expected \(3, 2\)"):
        classification_summary([0, 1, 1], np.ones((3, 3)) / 3, ("a", "b"))
    with pytest.raises(GrinlabError, match="class indices 0..1"):
        classification_summary([0, 2], np.ones((2, 2)) / 2, ("a", "b"))


def test_macro_f1_has_one_definition_that_counts_predicted_only_classes():
    """The trainer's results.json and the evaluation report once disagreed on this (0.9 vs 0.6)."""
    import numpy as np

    from grinlab.evaluate.metrics import classification_metrics, macro_f1
    from grinlab.train import trainer

    y, p = np.array([0, 0, 0, 1, 1]), np.array([0, 0, 2, 1, 1])
    assert macro_f1(y, p, 3) == pytest.approx(0.6)  # scikit-learn's f1_score(average="macro") too
    assert classification_metrics(y, p, ("a", "b", "c"))["macro_f1"] == pytest.approx(0.6)
    assert trainer.classification_metrics is classification_metrics
