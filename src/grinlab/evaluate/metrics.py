"""Classification metrics in numpy, JSON-ready."""

from __future__ import annotations

import numpy as np

from ..errors import GrinlabError


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """cm[i, j] = number of samples of true class i predicted as j."""
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def per_class(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, f1, support) per class; 0 where undefined."""
    tp = np.diag(cm).astype(float)
    pred = cm.sum(axis=0).astype(float)
    support = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1, support


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Mean F1 over the classes that occur in y_true or y_pred (scikit-learn's average="macro"): a
    class the model predicts but the data lacks counts, with F1 0, so predicting it costs."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    _, _, f1, support = per_class(cm)
    present = (support > 0) | (cm.sum(axis=0) > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    """n, accuracy, macro-F1 (the one definition: ``macro_f1``), per-class recall and the confusion
    matrix: what a training run's results.json and metrics.jsonl hold, as its report computes them."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    _, recall, _, _ = per_class(cm)
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.trace(cm) / max(1, len(y_true))),
        "macro_f1": macro_f1(y_true, y_pred, len(classes)),
        "recall": {c: float(r) for c, r in zip(classes, recall, strict=True)},
        "confusion": cm.tolist(),
    }


def calibration(probs: np.ndarray, y_true: np.ndarray, n_bins: int = 15) -> dict:
    """Expected calibration error of the top-class confidence (equal-width bins), with the bins."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            acc, c = float(correct[m].mean()), float(conf[m].mean())
            ece += m.mean() * abs(acc - c)
            bins.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "n": int(m.sum()),
                    "accuracy": acc,
                    "confidence": c,
                }
            )
    return {"ece": float(ece), "bins": bins}


def log_loss(probs: np.ndarray, y_true: np.ndarray) -> float:
    p = np.clip(probs[np.arange(len(y_true)), y_true], 1e-12, 1.0)
    return float(-np.log(p).mean())


def _check(y_true: np.ndarray, probs: np.ndarray, classes) -> None:
    if probs.ndim != 2 or probs.shape != (len(y_true), len(classes)):
        raise GrinlabError(
            f"probabilities of shape {probs.shape} do not fit {len(y_true)} labels and "
            f"{len(classes)} classes; expected ({len(y_true)}, {len(classes)})"
        )
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= len(classes)):
        raise GrinlabError(
            f"labels must be class indices 0..{len(classes) - 1}, got {y_true.min()}..{y_true.max()}"
        )


def accuracy_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% for z=1.96) of an accuracy of ``correct`` out of ``n`` faces.

    Why: a val split of 724 or 1,678 faces leaves an accuracy uncertain by 1-3 points, more than
    most of the differences between models and than some gaps to a goal; the interval says how far
    a held-out set of the same kind may land. Wilson rather than the normal approximation because
    it stays inside [0, 1] near 100% (GENKI-4K's 96%+)."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def interval_of_accuracy(accuracy: float, n: int) -> tuple[float, float]:
    """``accuracy_interval`` of a stored accuracy over ``n`` faces (a card's, a results file's):
    at 4 decimals or more, accuracy * n gives the count of correct faces exactly."""
    return accuracy_interval(round(accuracy * n), n)


def classification_summary(y_true, probs, classes, decision=None) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion, ECE (15 bins), log
    loss; ``y_true`` holds class indices, ``probs`` is (N, len(classes)). Plain JSON types only.

    decision: the model's rule (a DecisionRule, a loaded classifier or its card; None = argmax,
    see grinlab.classify.decision): every count above is of the labels it decides. ECE and log
    loss describe the probabilities themselves, which the rule does not change."""
    from ..classify.decision import decide

    y_true = np.asarray(y_true, int)
    probs = np.asarray(probs, float)
    _check(y_true, probs, classes)
    y_pred = decide(probs, decision)
    cm = confusion_matrix(y_true, y_pred, len(classes))
    precision, recall, f1, support = per_class(cm)
    correct = int((y_pred == y_true).sum())
    return {
        "n": int(len(y_true)),
        "accuracy": correct / len(y_true) if len(y_true) else 0.0,
        "accuracy_interval_95": list(accuracy_interval(correct, len(y_true))),
        "macro_f1": macro_f1(y_true, y_pred, len(classes)),
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "recall": {c: float(recall[i]) for i, c in enumerate(classes)},
        "confusion": cm.tolist(),
        "ece": calibration(probs, y_true)["ece"] if len(y_true) else 0.0,
        "log_loss": log_loss(probs, y_true) if len(y_true) else 0.0,
    }
