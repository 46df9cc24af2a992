"""Smile intensity: one number in [0, 1] per face from whichever smile-capable model ran, corrected
by that model's decision rule so that 0.5 is where its label changes."""

from __future__ import annotations

import numpy as np

from ..results import Prediction


def smile_intensity(preds: dict[str, Prediction], rules: dict | None = None) -> float | None:
    """P(smile) of the first smile-capable model: the smile model's P(smile), or the valence model's
    P(positive) + P(negative smile), or the emotion model's P(happy).

    ``rules`` (model name -> grinlab.classify.decision.DecisionRule) correct those probabilities
    the way the model's decision does (``DecisionRule.adjusted``, p * w / sum(p * w)): with a
    threshold t on P(smile) the intensity is p (1 - t) / (p (1 - t) + (1 - p) t), monotone in
    P(smile), 0 and 1 kept, and exactly 0.5 at p = t; so intensity >= 0.5 is the smile label, as
    the overlay and the gate's "0.5 = the decision threshold" assume."""

    def corrected(name: str, p: Prediction) -> dict[str, float]:
        rule = (rules or {}).get(name)
        if rule is None or rule.kind == "argmax":
            return p.probabilities
        labels = list(p.probabilities)
        adj = rule.adjusted(np.array([p.probabilities[k] for k in labels]))
        return dict(zip(labels, map(float, adj)))

    for name, p in preds.items():
        if "smile" in p.probabilities:
            return corrected(name, p)["smile"]
        if "positive_smile" in p.probabilities:
            probs = corrected(name, p)
            return probs["positive_smile"] + probs.get("negative_smile", 0.0)
    for name, p in preds.items():
        if "happy" in p.probabilities:
            return corrected(name, p)["happy"]
    return None
