"""Choosing a model's decision rule (grinlab.classify.decision) on validation data.

``choose_rule`` searches a fixed grid: a threshold on P(label) for a two-label model (0.01 steps),
per-class weights (prior correction, argmax of p * w) for more labels (weights 2^(k/4) from 1/4
to 16, the first label's fixed at 1: every combination for three labels, coordinate ascent for
more). It maximises the objective on the pooled data subject to a constraint; argmax is always a
candidate, so the result is never worse than argmax on the data it was chosen on. Ties go to the
rule closest to argmax.

Choosing and measuring on the same samples flatters the rule, so ``cross_validate`` also reports
an honest estimate: the val samples are halved (stratified by part and class, seeded), a rule is
chosen on each half and applied to the other, and the metrics of those out-of-half labels are
averaged over several seeds. That is the figure to expect on new data.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..classify.decision import DecisionRule
from ..errors import GrinlabError
from .metrics import confusion_matrix, macro_f1, per_class

CONSTRAINTS = {
    "no_accuracy_loss": "accuracy on each dataset at least its argmax accuracy",
    # a floor of the user's: a model that replaces another keeps at least that one's accuracy
    "min_accuracy=X": "accuracy on each dataset at least X",
    "none": "no constraint",
}
THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.01), 2)
WEIGHTS = 2.0 ** (np.arange(-8, 17) / 4.0)  # 1/4 .. 16, 25 values


@dataclass(frozen=True)
class Part:
    """One dataset's val samples: true label indices and the model's probabilities."""

    name: str
    y: np.ndarray
    probs: np.ndarray


def summary(y: np.ndarray, pred: np.ndarray, labels) -> dict:
    """Accuracy, macro-F1, balanced accuracy and per-class recall of decided labels ``pred``."""
    _, recall, _, support = per_class(confusion_matrix(y, pred, len(labels)))
    seen = support > 0
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "macro_f1": macro_f1(y, pred, len(labels)),  # the same definition as grinlab evaluate's
        "balanced_accuracy": float(recall[seen].mean()) if seen.any() else 0.0,
        "recall": {lab: float(recall[i]) for i, lab in enumerate(labels)},
    }


OBJECTIVES = {
    "balanced_accuracy": "mean recall over the classes",
    "macro_f1": "mean F1 over the classes",
    "accuracy": "fraction of faces right",
}


def measure(parts: list[Part], rule: DecisionRule) -> dict:
    """Metrics of the labels ``rule`` decides: pooled ("all") and per part."""
    preds = [rule.decide(p.probs) for p in parts]
    out = {"all": summary(np.concatenate([p.y for p in parts]), np.concatenate(preds), rule.labels)}
    if len(parts) > 1:
        for p, pred in zip(parts, preds):
            out[p.name] = summary(p.y, pred, rule.labels)
    return out


def candidates(labels: tuple[str, ...], positive: str | None = None):
    """The grid of rules, argmax first. Two labels: thresholds on P(``positive``, default the
    second label). More: per-class weights with the first label's fixed at 1."""
    yield DecisionRule(labels)
    if len(labels) == 2:
        positive = positive or labels[1]
        for t in THRESHOLDS:
            yield DecisionRule(labels, "threshold", label=positive, threshold=float(t))
    elif len(labels) == 3:
        for w in itertools.product(WEIGHTS, repeat=2):
            yield DecisionRule(labels, "class_weights", weights=(1.0, *w))


def _distance(rule: DecisionRule) -> float:
    """How far a rule is from argmax (|log-odds| of the weights), for breaking ties."""
    w = np.log(rule.class_weights())
    return float(np.abs(w - w[0]).sum())


def accuracy_floor(constraint: str) -> float | None:
    """X of ``min_accuracy=X`` (a fraction in (0, 1]); None for the named constraints. Raises on
    anything else, naming the choices."""
    if constraint in ("no_accuracy_loss", "none"):
        return None
    name, _, value = constraint.partition("=")
    try:
        floor = float(value) if name == "min_accuracy" else None
    except ValueError:
        floor = None
    if floor is None or not 0.0 < floor <= 1.0:
        raise GrinlabError(
            f"unknown constraint {constraint!r}; choose one of no_accuracy_loss, none or "
            "min_accuracy=X with X a fraction such as 0.80"
        )
    return floor


def accuracy_floors(constraint: str, argmax_metrics: dict) -> dict[str, float]:
    """Per dataset of ``measure``'s result for argmax: the accuracy a rule must keep under
    ``constraint`` (argmax's own, or min_accuracy's X; ignored under none)."""
    given = accuracy_floor(constraint)
    return {k: v["accuracy"] if given is None else given for k, v in argmax_metrics.items()}


def describe_constraint(constraint: str) -> str:
    floor = accuracy_floor(constraint)
    if floor is None:
        return f"{constraint}: {CONSTRAINTS[constraint]}"
    return f"{constraint}: accuracy on each dataset at least {floor:g}"


def choose_rule(
    parts: list[Part],
    labels: tuple[str, ...],
    objective: str,
    constraint: str = "no_accuracy_loss",
    positive: str | None = None,
) -> DecisionRule:
    """The rule of the grid with the best pooled ``objective`` among those meeting ``constraint``;
    argmax when none meets it (only possible under ``min_accuracy=X``)."""
    if objective not in OBJECTIVES:
        raise GrinlabError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    floor = accuracy_floors(constraint, measure(parts, DecisionRule(labels)))

    def score(rule: DecisionRule) -> tuple[float, float] | None:
        m = measure(parts, rule)
        if constraint != "none" and any(m[k]["accuracy"] < floor[k] - 1e-12 for k in m):
            return None
        return (m["all"][objective], -_distance(rule))

    if len(labels) <= 3:
        scored = [(s, r) for r in candidates(labels, positive) if (s := score(r)) is not None]
        return max(scored, key=lambda sr: sr[0])[1] if scored else DecisionRule(labels)
    # more labels: coordinate ascent over each non-first class weight, three rounds
    w = np.ones(len(labels))
    best, best_score = DecisionRule(labels), score(DecisionRule(labels))
    for _ in range(3):
        for k in range(1, len(labels)):
            for v in WEIGHTS:
                trial = w.copy()
                trial[k] = v
                rule = DecisionRule(labels, "class_weights", weights=tuple(trial))
                s = score(rule)
                if s is not None and s > best_score:
                    best, best_score, w = rule, s, trial
    return best


def stratified_halves(parts: list[Part], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per part: (half A, half B) indices, each class split in two at random (seeded)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in parts:
        a = []
        for c in np.unique(p.y):
            idx = rng.permutation(np.flatnonzero(p.y == c))
            a.append(idx[: len(idx) // 2])
        a = np.sort(np.concatenate(a)) if a else np.zeros(0, int)
        b = np.setdiff1d(np.arange(len(p.y)), a)
        out.append((a, b))
    return out


def cross_validate(
    parts: list[Part],
    labels: tuple[str, ...],
    objective: str,
    constraint: str = "no_accuracy_loss",
    positive: str | None = None,
    repeats: int = 5,
) -> dict:
    """Two-fold cross-validation of the whole choice, repeated with seeds 0..repeats-1: every
    sample is labelled by a rule chosen on the other half. Returns the metrics averaged over the
    repeats (same layout as ``measure``) and the rules chosen on each half."""
    runs, rules = [], []
    for seed in range(repeats):
        halves = stratified_halves(parts, seed)
        preds = [np.zeros(len(p.y), int) for p in parts]
        for fit, held in ((0, 1), (1, 0)):
            fit_parts = [Part(p.name, p.y[h[fit]], p.probs[h[fit]]) for p, h in zip(parts, halves)]
            rule = choose_rule(fit_parts, labels, objective, constraint, positive)
            rules.append(rule.describe())
            for p, h, pred in zip(parts, halves, preds):
                pred[h[held]] = rule.decide(p.probs[h[held]])
        run = {"all": summary(np.concatenate([p.y for p in parts]), np.concatenate(preds), labels)}
        if len(parts) > 1:
            run.update({p.name: summary(p.y, pred, labels) for p, pred in zip(parts, preds)})
        runs.append(run)
    mean = {k: mean_metrics([r[k] for r in runs]) for k in runs[0]}
    return {"method": f"2-fold, stratified, seeds 0..{repeats - 1}, mean", "metrics": mean, "rules": rules}


def mean_metrics(rows: list[dict]) -> dict:
    """The mean of several ``summary``-shaped results (nested dicts averaged key by key)."""
    out = {}
    for k, v in rows[0].items():
        if isinstance(v, dict):
            out[k] = mean_metrics([r[k] for r in rows])
        elif k == "n":
            out[k] = v
        else:
            out[k] = float(np.mean([r[k] for r in rows]))
    return out


def val_parts(
    clf,
    data: list[str],
    pipeline_data: list[str] = (),
    detector: str = "auto",
    detector_options: dict | None = None,
    split: str = "val",
) -> dict[str, list[Part]]:
    """The ``split`` (val only) of each dataset, as ``grinlab evaluate`` reads it: the same seeded
    splits as the trainer, classes matched to the model by name, crops fitted to the model's
    input; ``pipeline_data`` photos go through detect -> align first (``evaluate --pipeline``).
    Returns {"plain": parts, "flip_tta": parts}: the same samples with plain and with flip-TTA
    probabilities (evaluate's ``flip_tta``), each mode getting a rule of its own."""
    from ..data import load_splits
    from ..labels import TASKS
    from ..preprocess import fit_crop
    from .onnx_eval import crop_with_pipeline, match_classes

    if split != "val":
        raise GrinlabError(
            f"calibrate chooses the rule on the val split only, not {split!r}: a rule tuned on test "
            "data would make every later test figure optimistic"
        )
    if not data and not pipeline_data:
        raise GrinlabError("give at least one dataset (--data PATH or --pipeline-data PATH)")
    task = clf.card.task if clf.card.task in TASKS else None
    spec = clf.card.preprocessing
    parts = {"plain": [], "flip_tta": []}
    for path, pipeline in [(d, False) for d in data] + [(d, True) for d in pipeline_data]:
        splits = load_splits(path, task=task)
        if split not in splits:
            raise GrinlabError(f"{path} has no {split!r} split; it has {', '.join(splits)}")
        ds = match_classes(splits[split], clf.labels, clf.card.name)
        if pipeline:
            ds, _ = crop_with_pipeline(ds, detector, **(detector_options or {}))
        plain, flipped = plain_and_flip_tta(clf, np.stack([fit_crop(im, spec) for im in ds.images]))
        name = ds.name + (" (pipeline)" if pipeline else "")
        y = np.asarray(ds.labels, int)
        parts["plain"].append(Part(name, y, plain))
        parts["flip_tta"].append(Part(name, y, flipped))
    return parts


def plain_and_flip_tta(clf, batch: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A classifier's probabilities (float64) on a batch of prepared crops, plain and with flip TTA
    (evaluate's ``flip_tta``), run ``chunk`` crops at a time."""
    from .robustness import flip_tta

    def run(b: np.ndarray) -> np.ndarray:
        return np.concatenate([clf.predict_prepared(b[i : i + chunk]) for i in range(0, len(b), chunk)])

    plain = run(batch)
    return np.asarray(plain, float), np.asarray(flip_tta(run, batch, plain), float)
