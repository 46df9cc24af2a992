"""The decision rule: probabilities -> decided label, read from the model card's ``decision`` field.

Every place that names a label (the runtime's Prediction.label, the tracker, ``grinlab evaluate``,
the benchmarks) goes through ``decide``; the probabilities themselves are never changed.

Card field (absent or ``{}`` = argmax, so older cards behave as before)::

    "decision": {"kind": "threshold", "label": "smile", "threshold": 0.43}      # two labels only
    "decision": {"kind": "class_weights", "weights": {"no_smile": 1.0, ...}}   # argmax of p * w

Flip test-time augmentation averages each face's probabilities with its mirror's, which shifts
them (valence on FaceHack val: the plain rule drops TTA accuracy from 81.4% to 79.4%), so a card
may hold a second rule for that mode, chosen on TTA probabilities: ``"flip_tta": {"kind": ...}``
inside the field. Without it, TTA uses the same rule.

Both kinds are a prior correction: a threshold t on P(label) is the same rule as the weights
w(label) = 1 - t, w(other) = t, since p (1 - t) >= (1 - p) t  <=>  p >= t. ``adjusted`` returns
the corrected distribution p * w / sum(p * w); with a threshold it maps P(label) = t to exactly
0.5, which is what the smile intensity shows (so intensity >= 0.5 <=> the decided label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import GrinlabError

KINDS = ("argmax", "threshold", "class_weights")


@dataclass(frozen=True)
class DecisionRule:
    """labels: the model's labels in output order. kind: one of ``KINDS``.
    threshold kind: ``label`` is decided when P(label) >= ``threshold`` (0 < threshold < 1).
    class_weights kind: ``weights`` (> 0, label order) multiply the probabilities before argmax."""

    labels: tuple[str, ...]
    kind: str = "argmax"
    label: str = ""
    threshold: float = 0.5
    weights: tuple[float, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "labels", tuple(self.labels))
        if self.kind not in KINDS:
            raise GrinlabError(f"decision kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "threshold":
            if len(self.labels) != 2:
                raise GrinlabError(
                    f"a threshold decision needs a two-label model, this one has {len(self.labels)} "
                    f"({', '.join(self.labels)}); use class_weights"
                )
            if self.label not in self.labels:
                raise GrinlabError(f"decision label {self.label!r} is not one of {', '.join(self.labels)}")
            if not 0.0 < float(self.threshold) < 1.0:
                raise GrinlabError(f"decision threshold must be between 0 and 1, got {self.threshold}")
        if self.kind == "class_weights":
            w = np.asarray(self.weights, float)
            if w.shape != (len(self.labels),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise GrinlabError(
                    f"class_weights must give one positive weight per label ({', '.join(self.labels)}), "
                    f"got {self.weights}"
                )
            object.__setattr__(self, "weights", tuple(float(x) for x in w))

    @classmethod
    def from_card(cls, card, flip_tta: bool = False) -> DecisionRule:
        """The card's rule (argmax when the card has none) for plain or flip-TTA probabilities; a
        malformed field is a GrinlabError naming the card, raised when the model is loaded rather
        than on the first face."""
        d = dict(getattr(card, "decision", None) or {})
        tta = d.pop("flip_tta", None)
        if flip_tta and tta is not None:
            d = dict(tta) if isinstance(tta, dict) else {"kind": tta}
        where = f"model card {card.name!r}" + (" (flip_tta)" if flip_tta and tta is not None else "")
        try:
            kind = d.pop("kind", "argmax")
            if kind == "class_weights":
                weights = d.pop("weights", {})
                unknown = sorted(set(weights) - set(card.labels))
                if unknown or set(weights) != set(card.labels):
                    raise GrinlabError(
                        f"class_weights must name every label ({', '.join(card.labels)}) once; "
                        f"got {', '.join(weights) or 'none'}"
                    )
                rule = cls(card.labels, kind, weights=tuple(weights[lab] for lab in card.labels))
            elif kind == "threshold":
                rule = cls(card.labels, kind, label=d.pop("label", ""), threshold=float(d.pop("threshold")))
            else:
                rule = cls(card.labels, kind)
        except GrinlabError as exc:
            raise GrinlabError(f"{where}: bad decision field: {exc}; run grinlab calibrate again") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GrinlabError(
                f"{where}: bad decision field ({exc!r}); run grinlab calibrate again"
            ) from None
        return rule

    def to_card(self) -> dict:
        """The card's ``decision`` field for this rule ({} for argmax)."""
        if self.kind == "threshold":
            return {"kind": "threshold", "label": self.label, "threshold": round(float(self.threshold), 6)}
        if self.kind == "class_weights":
            return {"kind": "class_weights",
                    "weights": {lab: round(w, 6) for lab, w in zip(self.labels, self.weights)}}  # fmt: skip
        return {}

    def class_weights(self) -> np.ndarray:
        """The rule as per-label weights (all ones for argmax)."""
        if self.kind == "class_weights":
            return np.asarray(self.weights, float)
        w = np.ones(len(self.labels))
        if self.kind == "threshold":
            k = self.labels.index(self.label)
            w[:] = self.threshold
            w[k] = 1.0 - self.threshold
        return w

    def adjusted(self, probs: np.ndarray) -> np.ndarray:
        """Prior-corrected probabilities p * w / sum(p * w), same shape as ``probs``; equal to
        ``probs`` for argmax. Used for the smile intensity and the tracker's hysteresis."""
        p = np.asarray(probs, float)
        if self.kind == "argmax":
            return p
        q = p * self.class_weights()
        s = q.sum(axis=-1, keepdims=True)
        return np.divide(q, s, out=np.full_like(q, 1.0 / q.shape[-1]), where=s > 0)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """(N, C) probabilities -> (N,) decided label indices; a single (C,) row -> an int array
        of shape (). Ties go to the first label, as numpy's argmax does."""
        p = np.asarray(probs, float)
        if p.shape[-1] != len(self.labels):
            raise GrinlabError(
                f"probabilities have {p.shape[-1]} columns but the model has {len(self.labels)} labels"
            )
        if self.kind == "threshold":
            k = self.labels.index(self.label)
            # compared on P(label) itself, not on weighted scores, so "changes exactly at t" holds
            # without floating-point doubt
            return np.where(p[..., k] >= self.threshold, k, 1 - k)
        if self.kind == "class_weights":
            return np.argmax(p * self.class_weights(), axis=-1)
        return np.argmax(p, axis=-1)

    def describe(self) -> str:
        if self.kind == "threshold":
            return f"{self.label} when P({self.label}) >= {self.threshold:g}"
        if self.kind == "class_weights":
            return "argmax of p * w, w = " + ", ".join(
                f"{lab} {w:g}" for lab, w in zip(self.labels, self.weights)
            )
        return "argmax"


def rule_of(model, flip_tta: bool = False) -> DecisionRule:
    """The rule of a loaded classifier or a ModelCard for plain (or flip-TTA) probabilities; a
    DecisionRule is returned as is, whatever the mode."""
    if isinstance(model, DecisionRule):
        return model
    rule = getattr(model, "flip_tta_decision" if flip_tta else "decision", None)
    if isinstance(rule, DecisionRule):
        return rule
    card = getattr(model, "card", model)
    return DecisionRule.from_card(card, flip_tta)


def decide(probs: np.ndarray, model, flip_tta: bool = False) -> np.ndarray:
    """THE decision function: probabilities of ``model`` (a loaded classifier, its ModelCard or a
    DecisionRule; None = argmax) -> decided label indices. ``flip_tta``: the probabilities are
    flip-TTA averages, decided by the card's flip_tta rule when it has one."""
    if model is None:
        return np.argmax(np.asarray(probs), axis=-1)
    return rule_of(model, flip_tta).decide(probs)
